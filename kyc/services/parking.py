"""Retry bookkeeping and parking of automated work (a provider session to create, a file to
download): the state of automatic retries is kept on the work itself, so that staff see in the
admin when the next try is due, and what gave up and waits for them. Written by the tasks
(kyc/tasks.py) as they retry or give up.

Parking is final for automation: reconciliation never picks parked work up again; a person does
(admin actions "Retry", kyc/services/retries.py).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from kyc.audit import audit_record
from kyc.models import Media, VerificationSession


def _due(countdown: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=countdown)


def session_schedule_retry(*, session_id: int, countdown: float) -> None:
    VerificationSession.objects.filter(pk=session_id, provider_session_id__isnull=True).update(
        provider_next_attempt_at=_due(countdown)
    )


@transaction.atomic
def session_park(*, session_id: int, error: str) -> None:
    """The provider session could not be created and automation gave up."""
    # Row lock: the create task of a second delivery may attach the provider session meanwhile;
    # a session that has one is not parked.
    session = VerificationSession.objects.select_for_update().get(pk=session_id)
    if session.provider_session_id or session.parked_at:
        return
    session.parked_at = timezone.now()
    session.provider_next_attempt_at = None
    session.save(update_fields=["parked_at", "provider_next_attempt_at", "updated_at"])
    audit_record(
        action="session.parked",
        actor_label="system",
        customer_id=session.customer_id,
        session=session,
        object=session,
        after={"work": "provider_create", "attempts": session.provider_attempts, "error": error[:200]},
    )


def media_schedule_retry(*, media_id: int, countdown: float) -> None:
    Media.objects.filter(pk=media_id).exclude(state=Media.State.STORED).update(
        next_attempt_at=_due(countdown)
    )


@transaction.atomic
def media_park(*, media_id: int, error: str) -> None:
    media = Media.objects.select_for_update().select_related("session").get(pk=media_id)
    if media.state == Media.State.STORED or media.parked_at:
        return
    media.state = Media.State.FAILED
    media.parked_at = timezone.now()
    media.next_attempt_at = None
    media.error = error[:1000]
    media.save(update_fields=["state", "parked_at", "next_attempt_at", "error"])
    audit_record(
        action="media.parked",
        actor_label="system",
        customer_id=media.session.customer_id,
        session=media.session,
        object=media,
        after={"context": media.context, "attempts": media.download_attempts},
    )
