"""Automated work tried again on request: the end user's "try again" page after a provider
outage, and the admin's "Retry" on parked work (kyc/services/parking.py)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from kyc import tasks
from kyc.audit import audit_record
from kyc.models import Media, VerificationSession


def session_retry_provider_create(*, session_id: int) -> None:
    """The end user or staff asked to try again after a provider outage."""
    updated = VerificationSession.objects.filter(
        pk=session_id, provider_session_id__isnull=True, provider_error_permanent=False
    ).update(provider_error="", parked_at=None, updated_at=timezone.now())
    if updated:
        tasks.session_create_at_provider.delay(session_id)


def session_unpark(*, session_id: int, actor=None) -> bool:
    """Staff asked to try the provider again; returns whether a try was queued."""
    with transaction.atomic():
        session = VerificationSession.objects.select_for_update().get(pk=session_id)
        if session.provider_session_id:
            return False
        was_parked = session.parked_at is not None
        session.parked_at = None
        session.provider_error_permanent = False
        session.provider_error = ""
        session.save(update_fields=["parked_at", "provider_error_permanent", "provider_error", "updated_at"])
        audit_record(
            action="session.retry_requested",
            actor=actor,
            customer_id=session.customer_id,
            session=session,
            object=session,
            after={"work": "provider_create", "was_parked": was_parked},
        )
        transaction.on_commit(lambda: tasks.session_create_at_provider.delay(session_id))
    return True


def media_unpark(*, media_id: int, actor=None) -> bool:
    """Staff asked to download a failed or parked file again; returns whether it was queued."""
    with transaction.atomic():
        media = Media.objects.select_for_update().select_related("session").get(pk=media_id)
        if media.state == Media.State.STORED or media.purged_at:
            return False
        was_parked = media.parked_at is not None
        media.state = Media.State.PENDING
        media.parked_at = None
        media.next_attempt_at = None
        media.save(update_fields=["state", "parked_at", "next_attempt_at"])
        audit_record(
            action="media.retry_requested",
            actor=actor,
            customer_id=media.session.customer_id,
            session=media.session,
            object=media,
            after={"context": media.context, "was_parked": was_parked},
        )
        transaction.on_commit(lambda: tasks.media_download.delay(media_id))
    return True
