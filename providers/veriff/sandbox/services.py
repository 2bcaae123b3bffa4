"""Every state change of the sandbox: the only module that writes sessions and attempts.

Each public function is one transaction that locks the session row, so that two requests on one
session (a double click on the hosted page, the sweeper racing the user) cannot both start,
submit or decide its current attempt. Webhooks are recorded inside that transaction and sent after
it commits (transaction.on_commit), in the order they were recorded.
"""

import contextlib
import datetime as dt
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import delivery, large_video, media, payloads, tasks
from .integration import integration
from .models import (
    CONCLUSIVE_STATUSES,
    OPEN_STATUSES,
    SandboxAttempt,
    SandboxMedia,
    SandboxSession,
    Status,
    WebhookDelivery,
)
from .tokens import make_session_token
from .validation import MediaInput, SessionInput

SESSION_LIFETIME = dt.timedelta(days=7)
# 9 resubmissions at most: the 10th attempt is declined with 539 (README, "Statuses and codes").
MAX_ATTEMPTS = 10
RESUBMISSION_LIMIT_REASON = 539
DEFAULT_REASON_CODES = {Status.DECLINED: 102, Status.RESUBMISSION_REQUESTED: 204}
# Test integrations: person.firstName decides the session (README, "Timing" and "The sandbox").
MAGIC_FIRST_NAMES = {
    "approve": Status.APPROVED,
    "decline": Status.DECLINED,
    "resubmit": Status.RESUBMISSION_REQUESTED,
}


class SessionClosed(Exception):
    """The session cannot take this step any more (decided, expired, under review)."""

    def __init__(self, status: str):
        super().__init__(status)
        self.status = status


class NotSubmitted(Exception):
    """Screening needs the person read from a submitted attempt."""


class AlreadySubmitted(Exception):
    """Media for an attempt that was already submitted (409, README, "Endpoints")."""


def session_lifetime() -> dt.timedelta:
    return SESSION_LIFETIME * settings.SIM_TIME_SCALE


def is_stale(session: SandboxSession) -> bool:
    return session.status in OPEN_STATUSES and timezone.now() - session.created_at > session_lifetime()


@transaction.atomic
def session_create(*, api_key: str, data: SessionInput) -> SandboxSession:
    now = timezone.now()
    session = SandboxSession(
        api_key=api_key,
        callback=data.callback,
        vendor_data=data.vendor_data,
        end_user_id=data.end_user_id,
        person=data.person,
        document=data.document,
        additional_data=data.additional_data,
        lang=data.lang,
        created_at=now,
    )
    session.session_token = make_session_token(session.id, now)
    session.save()
    SandboxAttempt.objects.create(session=session, number=1, created_at=now)
    return session


def attempt_open(session_id: Any, *, via: str, ip: str | None) -> SandboxAttempt:
    """The end user lands on the session URL: the current attempt starts (event 7001)."""
    with transaction.atomic():
        session = _locked(session_id)
        if session.status in CONCLUSIVE_STATUSES or session.status == Status.REVIEW:
            raise SessionClosed(session.status)
        attempt = session.current_attempt()
        _start(session, attempt, via=via, ip=ip)
        return attempt


def media_upload(session_id: Any, upload: MediaInput, *, ip: str | None) -> SandboxMedia:
    """API upload (README, "The sandbox"): the first upload starts the attempt."""
    with transaction.atomic():
        session = _locked(session_id)
        if session.status in CONCLUSIVE_STATUSES:
            raise SessionClosed(session.status)
        if session.status in (Status.SUBMITTED, Status.REVIEW):
            raise AlreadySubmitted
        attempt = session.current_attempt()
        _start(session, attempt, via=SandboxAttempt.Via.API, ip=ip)
        return SandboxMedia.objects.create(
            attempt=attempt,
            context=upload.context,
            mimetype=upload.mimetype,
            content=upload.content,
            size=len(upload.content),
        )


def media_attach_large_video(session_id: Any, *, size: int) -> SandboxMedia:
    """Control endpoint: give the current attempt a generated video of `size` bytes, served
    streamed (large_video.py). Like an upload, only before the attempt is submitted; the
    submission then draws the photos but keeps this video."""
    # Hashing and signing a large file takes a while: done before the session is locked.
    served = integration()
    sha256, headers = large_video.digests(size, served.api_key, served.api_secret, served.signature_scheme)
    with transaction.atomic():
        session = _locked(session_id)
        if session.status in CONCLUSIVE_STATUSES:
            raise SessionClosed(session.status)
        if session.status in (Status.SUBMITTED, Status.REVIEW):
            raise AlreadySubmitted
        attempt = session.current_attempt()
        attempt.media.filter(context="video").delete()  # one video per attempt, as Veriff's
        return SandboxMedia.objects.create(
            attempt=attempt,
            context="video",
            mimetype="video/mp4",
            content=b"",
            size=size,
            synthetic=True,
            synthetic_sha256=sha256,
            synthetic_signature_headers=headers,
        )


def attempt_submit(session_id: Any, *, ip: str | None) -> SandboxSession:
    """PATCH status=submitted (API path): 7001 if needed, media, 7002; then a magic first name
    decides at once, in its own transaction, as Veriff decides after the submission."""
    with transaction.atomic():
        session = _locked(session_id)
        if session.status not in (Status.CREATED, Status.STARTED, Status.RESUBMISSION_REQUESTED):
            raise SessionClosed(session.status)
        attempt = session.current_attempt()
        _start(session, attempt, via=SandboxAttempt.Via.API, ip=ip)
        _submit(session, attempt)

    magic_status = MAGIC_FIRST_NAMES.get(str(session.person.get("firstName") or "").strip().lower())
    if magic_status:
        # Decided in between by someone else (control, hosted page): theirs stands.
        with contextlib.suppress(SessionClosed):
            session_decide(session.id, status=magic_status, via=SandboxAttempt.Via.API, ip=ip)
    return session


def session_decide(
    session_id: Any,
    *,
    status: str,
    reason_code: int | None = None,
    via: str,
    ip: str | None = None,
    risk: payloads.RiskSignals | None = None,
) -> dict[str, Any]:
    """Walk the current attempt to a decision, as the hosted page and control endpoint do.

    - `expired`: the user never arrived, so no events and no media.
    - `abandoned`: the user arrived (7001) and left without submitting: no media, no 7002.
    - anything else: 7001 and media + 7002 for what has not happened yet, then the decision.
    Returns the decision body (the webhook's and GET /decision's).
    """
    if status not in payloads.DECISION_CODES:
        raise ValueError(f"not a decision status: {status!r}")
    with transaction.atomic():
        session = _locked(session_id)
        if session.status in CONCLUSIVE_STATUSES:
            raise SessionClosed(session.status)
        attempt = session.current_attempt()
        if status != Status.EXPIRED:
            _start(session, attempt, via=via, ip=ip)
            if status != Status.ABANDONED:
                _submit(session, attempt)
        if reason_code is None:
            reason_code = DEFAULT_REASON_CODES.get(status)
        return _decide(session, attempt, status=status, reason_code=reason_code, risk=risk)


def session_expire(session_id: Any) -> dict[str, Any]:
    """The 7-day rule for one session (9104): `expired` if the user never arrived, `abandoned`
    if they started (the seed, code 9104)."""
    with transaction.atomic():
        session = _locked(session_id)
        if session.status not in OPEN_STATUSES:
            raise SessionClosed(session.status)
        ever_started = session.attempts.exclude(started_at=None).exists()
        status = Status.ABANDONED if ever_started else Status.EXPIRED
        return _decide(session, session.current_attempt(), status=status, reason_code=None)


def expire_if_stale(session_id: Any) -> None:
    """Sessions past their (scaled) lifetime count as expired as soon as anyone touches them,
    whether or not the sweeper ran."""
    session = SandboxSession.objects.filter(id=session_id).first()
    if session is not None and is_stale(session):
        # The sweeper or a decision may have got there first: nothing left to do then.
        with contextlib.suppress(SessionClosed):
            session_expire(session_id)


def sweep_expired_sessions() -> list[tuple[str, str]]:
    """Expire every open session older than the (scaled) lifetime: (session id, new status)."""
    cutoff = timezone.now() - session_lifetime()
    stale = SandboxSession.objects.filter(status__in=OPEN_STATUSES, created_at__lt=cutoff)
    expired = []
    # One transaction per session, so that each one's webhook goes out as soon as it is decided.
    for session_id in list(stale.values_list("id", flat=True)):
        try:
            body = session_expire(session_id)
        except SessionClosed:
            continue
        expired.append((str(session_id), body["verification"]["status"]))
    return expired


def session_watchlist(
    session_id: Any, *, match_status: str, lists: list[str], check_type: str
) -> dict[str, Any]:
    """Send a watchlist-screening webhook about the session's person (control endpoint). Veriff
    screens a person it has read from a document, so only after something was submitted."""
    with transaction.atomic():
        session = _locked(session_id)
        attempt = session.attempts.exclude(submitted_at=None).order_by("-number").first()
        if attempt is None:
            raise NotSubmitted
        body = payloads.watchlist_body(
            session,
            attempt,
            match_status=match_status,
            lists=lists,
            check_type=check_type,
            created_at=timezone.now(),
        )
        _send(session, WebhookDelivery.Kind.WATCHLIST, body)
        return body


def delivery_redeliver(delivery_id: int) -> None:
    """Send a logged webhook again, same bytes and signature (to test the app's dedupe)."""
    with transaction.atomic():
        if not WebhookDelivery.objects.filter(id=delivery_id).update(delivered_at=None, gave_up_at=None):
            raise WebhookDelivery.DoesNotExist(delivery_id)
        transaction.on_commit(partial(tasks.deliver_webhook.delay, delivery_id))


# --- steps, inside the caller's transaction -----------------------------------------------------


def _locked(session_id: Any) -> SandboxSession:
    return SandboxSession.objects.select_for_update().get(id=session_id)


def _start(session: SandboxSession, attempt: SandboxAttempt, *, via: str, ip: str | None) -> None:
    if attempt.status != Status.CREATED:
        return
    attempt.status = Status.STARTED
    attempt.started_at = timezone.now()
    attempt.via = via
    attempt.ip = ip
    attempt.save()
    session.status = Status.STARTED
    session.save(update_fields=["status", "updated_at"])
    _send(session, WebhookDelivery.Kind.EVENT, payloads.event_body(session, attempt, 7001))


def _submit(session: SandboxSession, attempt: SandboxAttempt) -> None:
    if attempt.submitted_at is not None:
        return
    # API uploads stand; the sandbox draws whatever the attempt still lacks.
    uploaded = set(attempt.media.values_list("context", flat=True))
    person, document = payloads.verified_identity(session)
    missing = [context for context in media.ATTEMPT_CONTEXTS if context not in uploaded]
    for item in media.generate_attempt_media(person, document, missing):
        SandboxMedia.objects.create(
            attempt=attempt,
            context=item.context,
            mimetype=item.mimetype,
            content=item.content,
            size=len(item.content),
            duration=item.duration,
        )
    attempt.status = Status.SUBMITTED
    attempt.submitted_at = timezone.now()
    attempt.save()
    session.status = Status.SUBMITTED
    session.save(update_fields=["status", "updated_at"])
    _send(session, WebhookDelivery.Kind.EVENT, payloads.event_body(session, attempt, 7002))


def _decide(
    session: SandboxSession,
    attempt: SandboxAttempt,
    *,
    status: str,
    reason_code: int | None,
    risk: payloads.RiskSignals | None = None,
) -> dict[str, Any]:
    if attempt.number >= MAX_ATTEMPTS and status not in (Status.EXPIRED, Status.ABANDONED):
        status, reason_code = Status.DECLINED, RESUBMISSION_LIMIT_REASON
    now = timezone.now()
    body = payloads.decision_body(
        session, attempt, status=status, reason_code=reason_code, decided_at=now, risk=risk
    )
    attempt.status = status
    attempt.decided_at = now
    attempt.decision = body
    attempt.save()
    session.status = status
    session.save(update_fields=["status", "updated_at"])
    if status == Status.RESUBMISSION_REQUESTED:
        # "a next attempt is created ready to be used and accessible via the same session URL"
        # (the seed, reasons for inconclusive decisions).
        SandboxAttempt.objects.create(session=session, number=attempt.number + 1)
    _send(session, WebhookDelivery.Kind.DECISION, body)
    return body


def _send(session: SandboxSession, kind: str, body: dict[str, Any]) -> None:
    recorded = delivery.create_delivery(session, kind, body)
    transaction.on_commit(partial(tasks.deliver_webhook.delay, recorded.id))
