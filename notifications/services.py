"""Every write of the notifications app: endpoints, events, deliveries.

Deliveries to one endpoint are in order per customer: event n+1 is not sent before event n
succeeded there (a receiver that applies statuses as they come can never go back to an older
one). A failing delivery is retried with exponential backoff for NOTIFICATIONS_RETRY_WINDOW
seconds (a day), then it stays failed, holding back that customer's later events to that endpoint
until it is replayed from the admin.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass

import requests
from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from kyc.audit import audit_record
from kyc.models import Customer
from notifications import egress, signing
from notifications.models import Delivery, DeliveryAttempt, Endpoint, Event

logger = logging.getLogger(__name__)

USER_AGENT = "KYC-Desk-Notifications/1.0"
# A worker that died while sending leaves its claim; after this long another may take it.
CLAIM_TIMEOUT_SECONDS = 120


# --- endpoints ------------------------------------------------------------------------------
class EndpointRefused(ValueError):
    """The URL may not be registered (not http(s), or not a public address): the message says why."""


def endpoint_create(
    *, url: str, description: str = "", actor=None, actor_label: str = "", api_key=None
) -> Endpoint:
    """Register an endpoint; `api_key` is the key that registers it and alone may see it later."""
    refusal = egress.url_refusal(url)
    if refusal:
        raise EndpointRefused(refusal)
    with transaction.atomic():
        endpoint = Endpoint.objects.create(
            url=url,
            description=description,
            secret=signing.secret_new(),
            api_key=api_key,
            created_by_label=actor_label or (f"user:{actor.get_username()}" if actor else "system"),
        )
        audit_record(
            action="notification_endpoint.created",
            actor=actor,
            actor_label=actor_label,
            object=endpoint,
            after={"url": url},
        )
    return endpoint


@transaction.atomic
def endpoint_secret_rotate(*, endpoint: Endpoint, actor=None, actor_label: str = "") -> Endpoint:
    """A new secret; the current one keeps signing beside it for NOTIFICATIONS_SECRET_OVERLAP
    seconds. A rotation during an overlap ends that overlap: the secret before is dropped."""
    # Locked so that two rotations at once do not both keep "the previous" secret and lose one.
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + dt.timedelta(
        seconds=settings.NOTIFICATIONS_SECRET_OVERLAP
    )
    endpoint.secret = signing.secret_new()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    audit_record(
        action="notification_endpoint.secret_rotated",
        actor=actor,
        actor_label=actor_label,
        object=endpoint,
        after={"previous_secret_expires_at": endpoint.previous_secret_expires_at.isoformat()},
    )
    return endpoint


def endpoint_signing_secrets(endpoint: Endpoint, *, now: dt.datetime | None = None) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one while it
    overlaps."""
    now = now or timezone.now()
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires and expires > now:
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


@transaction.atomic
def endpoint_disable(*, endpoint: Endpoint, actor=None, actor_label: str = "") -> Endpoint:
    # Locked so that two disables record one time and one audit entry.
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    if not endpoint.enabled:
        return endpoint
    endpoint.enabled = False
    endpoint.disabled_at = timezone.now()
    endpoint.save(update_fields=["enabled", "disabled_at"])
    audit_record(
        action="notification_endpoint.disabled", actor=actor, actor_label=actor_label, object=endpoint
    )
    return endpoint


# --- events ---------------------------------------------------------------------------------
def event_kyc_status_changed(*, customer: Customer, before: str, after: str) -> Event:
    """Record the change and owe it to every enabled endpoint; sending starts after commit.

    Called by kyc.services.customers.customer_refresh_kyc_status, which holds the customer's row lock: that
    lock is what makes the per-customer sequence number safe to take as max + 1.
    """
    sequence = (Event.objects.filter(customer=customer).aggregate(m=Max("sequence"))["m"] or 0) + 1
    changed_at = customer.kyc_status_changed_at or timezone.now()
    event = Event.objects.create(
        customer=customer,
        sequence=sequence,
        data={
            "customer": {"id": customer.pk, "external_ref": customer.external_ref},
            "kyc_status": after,
            "previous_kyc_status": before,
            "changed_at": changed_at.isoformat().replace("+00:00", "Z"),
        },
    )
    deliveries = Delivery.objects.bulk_create(
        Delivery(event=event, endpoint=endpoint, customer=customer, sequence=sequence)
        for endpoint in Endpoint.objects.filter(enabled=True)
    )
    ids = [d.pk for d in deliveries]
    if ids:
        transaction.on_commit(lambda: _enqueue(ids))
    return event


def event_envelope(event: Event) -> dict:
    """What is POSTed (and what GET /api/v1/events/{id}/ shows)."""
    return {
        "id": str(event.id),
        "type": event.type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "sequence": event.sequence,
        "data": event.data,
    }


# The sending task (notifications/tasks.py) is queued by its name: the task runs this module's
# delivery_attempt, so importing it here would close a circle. notifications/apps.py imports the
# tasks module, so the task is registered in every process.
DELIVERY_TASK = "notifications.tasks.delivery_send"


def _enqueue(delivery_ids: list[int]) -> None:
    task = current_app.tasks[DELIVERY_TASK]
    for delivery_id in delivery_ids:
        task.delay(delivery_id)


# --- deliveries -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SendOutcome:
    sent: bool  # a request was made
    succeeded: bool
    retry_in: float | None = None  # seconds until the next try, when there is one


NOT_SENT = SendOutcome(sent=False, succeeded=False)


def _backoff(attempts: int) -> float:
    base, cap = settings.NOTIFICATIONS_RETRY_BASE, settings.NOTIFICATIONS_RETRY_MAX
    return min(cap, base * 2 ** max(attempts - 1, 0))


def _claim(delivery_id: int) -> Delivery | None:
    """Take the delivery for sending if it is due and first in its line; None otherwise."""
    now = timezone.now()
    with transaction.atomic():
        # Locked so that two workers given the same delivery (a retry and a replay, a task
        # redelivered after a worker died) do not both send it.
        delivery = (
            Delivery.objects.select_for_update().select_related("endpoint", "event").get(pk=delivery_id)
        )
        stale_claim = (
            delivery.state == Delivery.State.SENDING
            and delivery.claimed_at is not None
            and (now - delivery.claimed_at).total_seconds() > CLAIM_TIMEOUT_SECONDS
        )
        if delivery.state != Delivery.State.PENDING and not stale_claim:
            return None
        if delivery.next_attempt_at and delivery.next_attempt_at > now:
            return None
        if not delivery.endpoint.enabled:
            return None
        earlier_unfinished = (
            Delivery.objects.filter(
                endpoint_id=delivery.endpoint_id,
                customer_id=delivery.customer_id,
                sequence__lt=delivery.sequence,
            )
            .exclude(state=Delivery.State.SUCCEEDED)
            .exists()
        )
        if earlier_unfinished:
            return None  # the earlier one's success sends this one (delivery_attempt)
        delivery.state = Delivery.State.SENDING
        delivery.claimed_at = now
        delivery.window_started_at = delivery.window_started_at or now
        delivery.save(update_fields=["state", "claimed_at", "window_started_at"])
    return delivery


def _failure(exc: Exception) -> str:
    """A short, fixed text for a failed request. The exception's own message (addresses, ports,
    errno, the name's resolution) is not kept: shown back to whoever registered the endpoint, it
    would make the delivery log a scanner of our network."""
    if isinstance(exc, egress.AddressNotAllowed):
        return "refused: not a public address"
    if isinstance(exc, requests.Timeout):
        return "timeout"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return "request failed"


def _post(delivery: Delivery) -> tuple[int | None, str, int]:
    """(status code, error, duration ms); never raises for the receiver's faults. Of the answer only
    the status code is kept: its body is never read."""
    body = json.dumps(event_envelope(delivery.event), separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signing.headers(
            msg_id=str(delivery.event_id),
            secrets=endpoint_signing_secrets(delivery.endpoint),
            timestamp=int(time.time()),
            body=body,
        ),
        "KYC-Event-Id": str(delivery.event_id),
        "KYC-Event-Type": delivery.event.type,
    }
    started = time.monotonic()
    try:
        with egress.session() as session:
            response = session.post(
                delivery.endpoint.url,
                data=body,
                headers=headers,
                timeout=settings.NOTIFICATIONS_TIMEOUT,
                allow_redirects=False,  # a redirect is not a receipt, nor a way to another host
                stream=True,  # the body is not read
            )
            response.close()
    except (requests.RequestException, egress.AddressNotAllowed) as exc:
        return None, _failure(exc), int((time.monotonic() - started) * 1000)
    duration = int((time.monotonic() - started) * 1000)
    error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    return response.status_code, error, duration


def delivery_attempt(*, delivery_id: int) -> SendOutcome:
    """Send the delivery once if it is due and its turn; record what happened."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return NOT_SENT
    status_code, error, duration = _post(delivery)  # outside any transaction: no lock held
    succeeded = not error
    now = timezone.now()
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            status_code=status_code,
            error=error,
            duration_ms=duration,
            succeeded=succeeded,
        )
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = status_code
        delivery.last_error = error
        delivery.claimed_at = None
        retry_in = None
        if succeeded:
            delivery.state = Delivery.State.SUCCEEDED
            delivery.succeeded_at = now
            delivery.next_attempt_at = None
            successor = (
                Delivery.objects.filter(
                    endpoint_id=delivery.endpoint_id,
                    customer_id=delivery.customer_id,
                    sequence__gt=delivery.sequence,
                    state=Delivery.State.PENDING,
                )
                .order_by("sequence")
                .values_list("pk", flat=True)
                .first()
            )
            if successor is not None:
                transaction.on_commit(lambda: _enqueue([successor]))
        else:
            window = (now - delivery.window_started_at).total_seconds()
            retry_in = _backoff(delivery.attempts)
            if window + retry_in > settings.NOTIFICATIONS_RETRY_WINDOW:
                delivery.state = Delivery.State.FAILED
                delivery.next_attempt_at = None
                retry_in = None
                logger.warning(
                    "notification delivery %s gave up after %s tries", delivery.pk, delivery.attempts
                )
            else:
                delivery.state = Delivery.State.PENDING
                delivery.next_attempt_at = now + dt.timedelta(seconds=retry_in)
        delivery.save()
    return SendOutcome(sent=True, succeeded=succeeded, retry_in=retry_in)


def delivery_replay(*, delivery: Delivery, actor=None, actor_label: str = "") -> Delivery:
    """Send again now, with a fresh retry window (a failed one, or a succeeded one on request)."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.state == Delivery.State.SENDING:
            return delivery
        before = delivery.state
        delivery.state = Delivery.State.PENDING
        delivery.next_attempt_at = None
        delivery.window_started_at = None
        delivery.save(update_fields=["state", "next_attempt_at", "window_started_at"])
        audit_record(
            action="notification_delivery.replayed",
            actor=actor,
            actor_label=actor_label,
            customer_id=delivery.customer_id,
            object=delivery,
            before={"state": before},
            after={"state": delivery.state},
        )
        delivery_id = delivery.pk
        transaction.on_commit(lambda: _enqueue([delivery_id]))
    return delivery


def deliveries_due() -> list[int]:
    """Deliveries whose time has come and whose turn it is (for the periodic sweep: it picks up
    retries whose task was lost, and is how retries happen without a broker)."""
    now = timezone.now()
    unfinished = (
        Delivery.objects.filter(endpoint__enabled=True)
        .exclude(state=Delivery.State.SUCCEEDED)
        .values_list("pk", "endpoint_id", "customer_id", "sequence", "state", "next_attempt_at")
    )
    heads: dict[tuple[int, int], tuple] = {}
    for row in unfinished:
        line = (row[1], row[2])
        if line not in heads or row[3] < heads[line][3]:
            heads[line] = row
    return sorted(
        pk
        for pk, _, _, _, state, next_attempt_at in heads.values()
        if state == Delivery.State.PENDING and (next_attempt_at is None or next_attempt_at <= now)
    )


def delivery_attempts_redact(*, customer_id: int) -> int:
    """Blank what the business's receivers answered to the customer's events (erasure): their
    excerpt is free text from another system and may echo anything about the customer. Answers are
    no longer kept (migration 0002 emptied the old ones): this stays for rows written since by an
    older worker during a deploy. The events themselves hold the id, external reference and
    statuses only, the minimal record, and stay."""
    return (
        DeliveryAttempt.objects.filter(delivery__customer_id=customer_id)
        .exclude(response_body="")
        .update(response_body="")
    )
