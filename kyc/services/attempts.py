"""The attempts inside a session (Veriff: a resubmission is a new attempt on the same session),
found or made as the provider's facts name them. Only called under the session's row lock."""

from __future__ import annotations

from django.utils import timezone

from kyc import status as st
from kyc.models import Attempt, VerificationSession


def attempt_mark_submitted(*, session_id: int, provider_attempt_id: str) -> int:
    """The end user finished the provider's flow for this attempt (back on our return page from a
    per-visit launch): a started attempt is submitted, as its session is. How many were."""
    started = Attempt.objects.filter(
        session_id=session_id, provider_attempt_id=provider_attempt_id, status=st.STARTED
    )
    return started.update(status=st.SUBMITTED, updated_at=timezone.now())


def attempt_for(
    session: VerificationSession,
    attempt_id: str,
    status: str | None,
    *,
    for_decision: bool = False,
    by_event: bool = False,
) -> Attempt | None:
    """The session's attempt with this provider id, made when first heard of. Only called under
    the session's row lock (session_apply_update, media_register), which serializes the look-up
    and the insert: no get_or_create, whose savepoint would cost two round trips per event."""
    if not attempt_id:
        return _attempt_deciding(session) if for_decision else None
    try:
        return Attempt.objects.get(session=session, provider_attempt_id=attempt_id)
    except Attempt.DoesNotExist:
        attempt = Attempt.objects.create(
            session=session, provider_attempt_id=attempt_id, status=status or st.STARTED
        )
        if by_event:
            _bind_decisions_without_attempt(session, attempt)
        return attempt


def _attempt_deciding(session: VerificationSession) -> Attempt | None:
    """The attempt a decision that names none is about (Veriff's decision webhooks often carry no
    attemptId: Veriff's own examples and public fixtures have none). A provider decides a
    submitted attempt, so the latest submitted one; else the latest without a decision; else the
    latest. Not simply the latest: a resubmission decision can arrive after the user has started
    the next attempt (Veriff holds 9103 webhooks a few minutes, providers/veriff/README.md)."""
    attempts = list(session.attempts.order_by("created_at", "id"))
    for wanted in ((st.SUBMITTED,), tuple(s for s, _ in st.CHOICES if s not in st.DECISIONS)):
        candidates = [a for a in attempts if a.status in wanted]
        if candidates:
            return candidates[-1]
    return attempts[-1] if attempts else None


def _bind_decisions_without_attempt(session: VerificationSession, attempt: Attempt) -> None:
    """A decision that named no attempt arrived before any attempt was known (webhooks are not
    ordered): the first attempt heard of afterwards is the one it decided."""
    if session.attempts.exclude(pk=attempt.pk).exists():
        return
    unbound = list(session.decisions.filter(attempt=None, status__in=st.DECISIONS))
    if not unbound:
        return
    session.decisions.filter(pk__in=[d.pk for d in unbound]).update(attempt=attempt)
    latest = max(unbound, key=lambda d: (d.decided_at is not None, d.decided_at or d.received_at, d.pk))
    attempt.status = latest.status
    attempt.save(update_fields=["status", "updated_at"])
