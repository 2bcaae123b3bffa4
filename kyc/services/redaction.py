"""The steps shared by the retention purge and a customer's erasure: delete evidence files and
blank personal fields, keeping the minimal record (what happened, when, and the digests that
prove which files existed). The audit trail is never touched: it holds ids and field names only,
so its hash chain stays valid."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from kyc.models import AuditEvent, Media, ProviderDecision, VerificationSession
from webhooks.models import InboundEvent

# The audit entry of a launch that began a new session at the provider (kyc/services/launch.py):
# its `before` holds the id the session had until then.
PROVIDER_SESSION_REPLACED = "session.provider_session_replaced"


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


def sessions_inbound_events(session_ids: list[int]) -> QuerySet[InboundEvent]:
    """Every delivery about these sessions, whose bodies hold personal data (ShareID's callbacks:
    the result with its four images, base64). Found by every id the provider gave each session:
    the current one and those a fresh launch replaced (ShareID: a new applicant per visit; the
    audit trail keeps each, and the provider may still call back about an earlier one). Also the
    malformed deliveries that a session's own notification token authenticated (no id could be
    read from them); each look-up goes through an index."""
    sessions = VerificationSession.objects.filter(pk__in=session_ids)
    ids = set(sessions.exclude(provider_session_id="").values_list("provider_session_id", flat=True))
    ids.update(
        AuditEvent.objects.filter(session_id__in=session_ids, action=PROVIDER_SESSION_REPLACED).values_list(
            "before__provider_session_id", flat=True
        )
    )
    ids.discard(None)
    ids.discard("")
    references = [str(reference) for reference in sessions.values_list("reference", flat=True)]
    return InboundEvent.objects.filter(
        Q(provider_session_id__in=sorted(ids))
        | Q(state=InboundEvent.State.MALFORMED, session_reference__in=references)
    )
