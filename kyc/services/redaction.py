"""The steps shared by the retention purge and a customer's erasure: delete evidence files and
blank personal fields, keeping the minimal record (what happened, when, and the digests that
prove which files existed). The audit trail is never touched: it holds ids and field names only,
so its hash chain stays valid."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from kyc.models import Media, ProviderDecision
from webhooks.models import InboundEvent


def media_purge(*, media_id: int) -> bool:
    """Delete one evidence file; the row keeps context, size, type and SHA-256. Returns whether a
    file was there to delete."""
    with transaction.atomic():
        # Row lock: a download finishing at this moment either stored before us (we delete its
        # file) or finds the row purged and drops its copy.
        media = Media.objects.select_for_update().get(pk=media_id)
        if media.purged_at:
            return False
        name = media.file.name
        media.file = ""
        media.state = Media.State.PURGED
        media.purged_at = timezone.now()
        media.next_attempt_at = None
        media.save(update_fields=["file", "state", "purged_at", "next_attempt_at"])
        # The file goes only once the row says so for good: a rollback leaves both in place.
        if name:
            transaction.on_commit(lambda: _delete_file(name))
    return bool(name)


def _delete_file(name: str) -> None:
    if default_storage.exists(name):
        default_storage.delete(name)


def decisions_redact(decisions: QuerySet[ProviderDecision]) -> int:
    """Blank the verified person, document and raw payload; status, codes and times stay."""
    return decisions.filter(redacted_at=None).update(
        person={}, document={}, raw={}, redacted_at=timezone.now()
    )


SCREENING_ERASED = "[erased]"


def screening_results_redact(results) -> int:
    """Blank what a screening hit says of the person (matched name, date of birth, countries,
    sources, search term, the reason's text); the list, the state and who resolved it stay."""
    return results.exclude(matched_name=SCREENING_ERASED).update(
        matched_name=SCREENING_ERASED,
        date_of_birth="",
        countries=[],
        sources=[],
        match_types=[],
        search_term={},
        raw={},
        resolution_reason=SCREENING_ERASED,
    )


def inbound_events_redact(events: QuerySet[InboundEvent]) -> int:
    """Blank stored webhook bodies (and what derives from them: signatures, tracebacks)."""
    return events.filter(redacted_at=None).update(body=b"", headers={}, error="", redacted_at=timezone.now())
