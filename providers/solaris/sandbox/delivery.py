"""Notifications from "Solaris" to the app, and the delivery log (../README.md, "Webhooks").

A notification goes to every live subscription of its event type, one Delivery row each, with its
body signed once with that subscription's secret. The receiver's answer decides what happens next,
as the seed's table says: 2xx delivered; 410 rejected and the subscription cancelled; 422 rejected,
never re-sent; anything else (or no answer) retried with a growing interval, at most 20 retries
within 7 days (both scaled by SIM_TIME_SCALE). Sending never happens inside a database transaction:
in development the receiving app shares the SQLite database and would wait on our lock.
"""

import datetime as dt
import json
from typing import Any

import requests
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from . import faults
from .models import Delivery, Fault, Subscription

TIMEOUT_SECONDS = 10
HANDSHAKE_TIMEOUT_SECONDS = 10
# Longer than one request can take, so a live sender never loses its lease.
LEASE = dt.timedelta(seconds=3 * TIMEOUT_SECONDS)
# Solaris says only "20 retries over 7 days, with a growing interval". Doubling from 30 s, capped
# at 12 h, is one such schedule: the 20th retry comes about 5 days after the first attempt.
MAX_RETRIES = 20
RETRY_BASE = dt.timedelta(seconds=30)
RETRY_CAP = dt.timedelta(hours=12)
RETRY_WINDOW = dt.timedelta(days=7)
ERROR_EXCERPT = 500
HANDSHAKE_EVENT = "WEBHOOK-SUBSCRIPTION"

_http = requests.Session()
_http.headers["User-Agent"] = "solaris-sandbox (KYC Desk)"


def scaled(interval: dt.timedelta) -> dt.timedelta:
    return interval * settings.SIM_TIME_SCALE


def retry_interval(failed_attempts: int) -> dt.timedelta:
    """The wait after the n-th failed attempt (n ≥ 1), before SIM_TIME_SCALE."""
    return min(RETRY_BASE * 2 ** (failed_attempts - 1), RETRY_CAP)


def body_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def headers_for(delivery: Delivery, attempt: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Solaris-Webhook-Id": str(delivery.webhook_id),
        "Solaris-Webhook-Subscription-Id": delivery.subscription_id,
        "Solaris-Webhook-Event-Type": delivery.event_type,
        "Solaris-Entity-Id": delivery.entity_id,
        "Solaris-Webhook-Attempt": str(attempt),
        "Solaris-Webhook-Signature": delivery.signature,
    }


def send(delivery_id: int) -> float | None:
    """One attempt, recorded in the log. Returns the seconds until the next attempt when the
    delivery must be retried, else None (delivered, rejected, expired, or sent by another worker)."""
    now = timezone.now()
    # Claimed with a conditional update: of two workers holding the same id, one sends.
    claimed = (
        Delivery.objects.filter(Q(locked_until=None) | Q(locked_until__lt=now))
        .filter(id=delivery_id, state=Delivery.State.PENDING)
        .update(locked_until=now + LEASE)
    )
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("subscription").get(id=delivery_id)
    if delivery.subscription.cancelled_at is not None:
        _finish(delivery, Delivery.State.CANCELLED)
        return None
    attempt = delivery.attempts + 1
    if faults.fault_in_force(delivery.url, modes=(Fault.Mode.DROP_WEBHOOKS,)):
        # A lost notification: logged, never sent, never retried, so only reconciliation finds it.
        _record(delivery, attempt, None, "dropped (sandbox fault injection)", Delivery.State.DROPPED)
        return None

    status_code: int | None = None
    error = ""
    try:
        response = _http.post(
            delivery.url,
            data=bytes(delivery.body),
            headers=headers_for(delivery, attempt),
            timeout=TIMEOUT_SECONDS,
            # A redirect is "any other answer" (retried), not a new address to post to.
            allow_redirects=False,
        )
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}: {response.text[:ERROR_EXCERPT]}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:ERROR_EXCERPT]

    if status_code is not None and 200 <= status_code < 300:
        _record(delivery, attempt, status_code, error, Delivery.State.DELIVERED)
        return None
    if status_code == 422:
        _record(delivery, attempt, status_code, error, Delivery.State.REJECTED)
        return None
    if status_code == 410:
        _record(delivery, attempt, status_code, error, Delivery.State.GONE)
        subscription_cancel(delivery.subscription_id, because="410 from the receiver")
        return None
    wait = scaled(retry_interval(attempt))
    finished = timezone.now()
    if attempt > MAX_RETRIES or finished + wait > delivery.created_at + scaled(RETRY_WINDOW):
        _record(delivery, attempt, status_code, error, Delivery.State.EXPIRED, at=finished)
        return None
    _record(
        delivery,
        attempt,
        status_code,
        error,
        Delivery.State.PENDING,
        next_attempt_at=finished + wait,
        at=finished,
    )
    return wait.total_seconds()


def _record(
    delivery: Delivery,
    attempt: int,
    status_code: int | None,
    error: str,
    state: str,
    next_attempt_at: dt.datetime | None = None,
    at: dt.datetime | None = None,
) -> None:
    now = at or timezone.now()
    answer = {"attempt": attempt, "at": now.isoformat(), "status_code": status_code, "error": error}
    Delivery.objects.filter(id=delivery.id).update(
        attempts=attempt,
        answers=[*delivery.answers, answer],
        state=state,
        next_attempt_at=next_attempt_at or delivery.next_attempt_at,
        finished_at=None if state == Delivery.State.PENDING else now,
        locked_until=None,
    )


def _finish(delivery: Delivery, state: str) -> None:
    Delivery.objects.filter(id=delivery.id).update(state=state, finished_at=timezone.now(), locked_until=None)


def subscription_cancel(subscription_id: str, *, because: str) -> None:
    """The subscription stops, and what it still had to deliver is cancelled with it."""
    now = timezone.now()
    Subscription.objects.filter(id=subscription_id, cancelled_at=None).update(
        cancelled_at=now, cancelled_because=because
    )
    Delivery.objects.filter(subscription_id=subscription_id, state=Delivery.State.PENDING).update(
        state=Delivery.State.CANCELLED, finished_at=now
    )


def send_due(*, everything: bool = False) -> list[int]:
    """Attempt every pending delivery whose next attempt is due (or all of them): the retries of
    development, where tasks run in-process and cannot wait. Returns the ids attempted."""
    pending = Delivery.objects.filter(state=Delivery.State.PENDING)
    if not everything:
        pending = pending.filter(next_attempt_at__lte=timezone.now())
    ids = list(pending.order_by("id").values_list("id", flat=True))
    for delivery_id in ids:
        send(delivery_id)
    return ids


def handshake(url: str) -> str:
    """The subscription's test call: one POST with an empty body and the event type
    WEBHOOK-SUBSCRIPTION. Returns "" when the receiver answered 2xx, else what went wrong."""
    try:
        response = _http.post(
            url,
            data=b"",
            headers={"Content-Type": "application/json", "Solaris-Webhook-Event-Type": HANDSHAKE_EVENT},
            timeout=HANDSHAKE_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return f"{type(exc).__name__}: {exc}"[:ERROR_EXCERPT]
    if 200 <= response.status_code < 300:
        return ""
    return f"HTTP {response.status_code}"


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    """One row of the delivery log (control/deliveries). `body` is the exact text sent."""
    return {
        "id": delivery.id,
        "webhook_id": str(delivery.webhook_id),
        "subscription_id": delivery.subscription_id,
        "event_type": delivery.event_type,
        "entity_id": delivery.entity_id,
        "url": delivery.url,
        "body": bytes(delivery.body).decode(),
        "signature": delivery.signature,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "answers": delivery.answers,
        "created_at": delivery.created_at.isoformat(),
        "next_attempt_at": delivery.next_attempt_at.isoformat()
        if delivery.state == Delivery.State.PENDING
        else None,
        "finished_at": delivery.finished_at.isoformat() if delivery.finished_at else None,
    }
