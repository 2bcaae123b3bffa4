"""Webhooks from "Veriff" to the app, and the delivery log (README, "Webhooks", "The sandbox").

A delivery is written once, with its exact body bytes and signed headers, and then sent (and
re-sent) as is. Sending never happens inside a database transaction: in development the app
that receives the webhook shares the SQLite database and would wait on our lock.
"""

import datetime as dt
import time
from typing import Any

import requests
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from . import faults
from .auth import compact_json, response_signature_headers
from .models import SandboxFault, SandboxSession, WebhookDelivery

WEBHOOK_PATHS = {
    WebhookDelivery.Kind.EVENT: "/webhooks/veriff/events/",
    WebhookDelivery.Kind.DECISION: "/webhooks/veriff/decision/",
    WebhookDelivery.Kind.WATCHLIST: "/webhooks/veriff/watchlist/",
}
TIMEOUT_SECONDS = 10
# Longer than one request can take, so a live sender never loses its lease.
LEASE = dt.timedelta(seconds=3 * TIMEOUT_SECONDS)
# "about once an hour for up to 7 days, or until success" (help.veriff.com, README, "Webhooks");
# both are scaled by SIM_TIME_SCALE when used.
RETRY_INTERVAL = dt.timedelta(hours=1)
RETRY_WINDOW = dt.timedelta(days=7)
MAX_RETRIES = int(RETRY_WINDOW / RETRY_INTERVAL)
ERROR_EXCERPT = 500

_http = requests.Session()
_http.headers["User-Agent"] = "veriff-sandbox (KYC Desk)"


def create_delivery(session: SandboxSession, kind: str, body: dict[str, Any]) -> WebhookDelivery:
    """Record a webhook to send: compact JSON, signed over exactly these bytes (README, "The sandbox")."""
    payload = compact_json(body)
    headers = {"Content-Type": "application/json", **response_signature_headers(payload)}
    return WebhookDelivery.objects.create(
        session=session,
        kind=kind,
        url=settings.KYC_PUBLIC_URL + WEBHOOK_PATHS[kind],
        body=payload,
        headers=headers,
    )


def send_in_order(delivery_id: int) -> bool:
    """Send a delivery, after any earlier one of the same session that was never tried.

    With a worker pool the tasks of one session may start in any order; this keeps 7001 before
    7002 before the decision. An earlier delivery that already failed does not hold later ones
    back: Veriff's event and decision URLs are independent (README, "The sandbox"), and it retries on its own.
    Returns True when the delivery is delivered (now or before).
    """
    delivery = WebhookDelivery.objects.filter(id=delivery_id).only("id", "session_id").first()
    if delivery is None:
        return True
    earlier = WebhookDelivery.objects.filter(
        session_id=delivery.session_id, id__lt=delivery.id, attempts=0, delivered_at=None
    ).values_list("id", flat=True)
    for earlier_id in list(earlier):
        send(earlier_id)
    return send(delivery.id)


def send(delivery_id: int) -> bool:
    """One HTTP attempt, recorded in the log. True if delivered (now or before)."""
    now = timezone.now()
    # Claimed with a conditional update: of two workers holding the same id, one sends.
    claimed = (
        WebhookDelivery.objects.filter(Q(locked_until=None) | Q(locked_until__lt=now))
        .filter(id=delivery_id, delivered_at=None)
        .update(locked_until=now + LEASE)
    )
    if not claimed:
        return _outcome_of_other_sender(delivery_id)

    delivery = WebhookDelivery.objects.get(id=delivery_id)
    status_code: int | None = None
    error = ""
    if faults.fault_in_force(delivery.url, modes=(SandboxFault.Mode.DROP_WEBHOOKS,)):
        # An injected lost webhook (control/faults "drop_webhooks"): logged as not delivered,
        # never sent, and not retried, so that only reconciliation can learn of it.
        WebhookDelivery.objects.filter(id=delivery_id).update(
            attempts=F("attempts") + 1,
            last_attempt_at=timezone.now(),
            last_error="dropped (sandbox fault injection)",
            gave_up_at=timezone.now(),
            locked_until=None,
        )
        return True
    try:
        response = _http.post(
            delivery.url, data=bytes(delivery.body), headers=delivery.headers, timeout=TIMEOUT_SECONDS
        )
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}: {response.text[:ERROR_EXCERPT]}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:ERROR_EXCERPT]

    finished = timezone.now()
    WebhookDelivery.objects.filter(id=delivery_id).update(
        attempts=F("attempts") + 1,
        last_attempt_at=finished,
        last_status_code=status_code,
        last_error=error,
        delivered_at=None if error else finished,
        locked_until=None,
    )
    return not error


def _outcome_of_other_sender(delivery_id: int) -> bool:
    """Another worker holds the lease (it is sending this delivery right now, e.g. as the earlier
    delivery of a later task's send_in_order). Wait for its attempt to end rather than schedule an
    hourly retry for a webhook that is being delivered; if that attempt failed, the caller's
    retry takes over. Bounded by the lease, which outlives one request."""
    deadline = time.monotonic() + LEASE.total_seconds()
    while True:
        row = WebhookDelivery.objects.filter(id=delivery_id).values("delivered_at", "locked_until").first()
        if row is None or row["delivered_at"] is not None:
            return True
        if row["locked_until"] is None or row["locked_until"] < timezone.now() or time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def retry_countdown() -> float:
    return RETRY_INTERVAL.total_seconds() * settings.SIM_TIME_SCALE


def give_up(delivery_id: int) -> None:
    WebhookDelivery.objects.filter(id=delivery_id, delivered_at=None).update(gave_up_at=timezone.now())


def delivery_json(delivery: WebhookDelivery) -> dict[str, Any]:
    """One row of the delivery log, for the control endpoint. `body` is the exact text sent."""
    return {
        "id": delivery.id,
        "session": str(delivery.session_id),
        "kind": delivery.kind,
        "url": delivery.url,
        "headers": delivery.headers,
        "body": bytes(delivery.body).decode(),
        "attempts": delivery.attempts,
        "lastStatusCode": delivery.last_status_code,
        "lastError": delivery.last_error,
        "createdAt": delivery.created_at.isoformat(),
        "lastAttemptAt": delivery.last_attempt_at.isoformat() if delivery.last_attempt_at else None,
        "deliveredAt": delivery.delivered_at.isoformat() if delivery.delivered_at else None,
        "gaveUpAt": delivery.gave_up_at.isoformat() if delivery.gave_up_at else None,
    }
