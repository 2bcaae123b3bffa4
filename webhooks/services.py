"""The inbound event store: keep, deduplicate, release, replay. Processing (claim, apply, mark) is
in webhooks/processing.py."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping

from django.db import transaction
from django.db.models import F

from providers.base import Provider, WebhookMalformed, WebhookRejected
from webhooks.dispatch import enqueue_event
from webhooks.fastpath import inbound_event_insert_once
from webhooks.limits import rejected_delivery_admit
from webhooks.models import InboundEvent

logger = logging.getLogger(__name__)

# Headers kept with an event, for inspection. The API key header is kept only as a fingerprint:
# enough to tell "our key" from "a wrong key", useless to anyone who reads the table.
KEPT_HEADERS = (
    "Content-Type",
    "User-Agent",
    "X-SIGNATURE",
    "X-HMAC-SIGNATURE",
    "Solaris-Webhook-Id",
    "Solaris-Webhook-Event-Type",
    "Solaris-Webhook-Attempt",
    "Solaris-Webhook-Signature",
)
FINGERPRINTED_HEADERS = ("X-AUTH-CLIENT", "Authorization")


# A rejected delivery's header values are cut to this length: they are anyone's to choose.
REJECTED_HEADER_LENGTH = 256


def _kept_headers(headers: Mapping[str, str], *, max_length: int | None = None) -> dict[str, str]:
    kept = {name: headers[name][:max_length] for name in KEPT_HEADERS if name in headers}
    for name in FINGERPRINTED_HEADERS:
        if name in headers:
            kept[name] = "sha256:" + hashlib.sha256(headers[name].encode()).hexdigest()[:12]
    return kept


class Receipt:
    """What the receiving view answers: HTTP status, and the stored event's id (if any);
    `retry_after` (seconds) with a 429."""

    def __init__(self, status: int, event_id: int | None, message: str, retry_after: int | None = None):
        self.status, self.event_id, self.message = status, event_id, message
        self.retry_after = retry_after


def inbound_event_receive(
    *, provider: Provider, kind: str, headers: Mapping[str, str], body: bytes, remote_addr: str | None
) -> Receipt:
    """Authenticate on the raw body, store, and queue processing after commit.

    Nothing is parsed before authentication; an authentic delivery is stored before we answer, so
    nothing is lost after it.
    """
    try:
        provider.authenticate_webhook(kind, headers, body)
    except WebhookRejected as exc:
        return _rejected_keep(
            provider=provider, kind=kind, headers=headers, body=body, remote_addr=remote_addr, exc=exc
        )

    common = {
        "provider": provider.name,
        "kind": kind,
        "body": body,
        "headers": _kept_headers(headers),
        "remote_addr": remote_addr,
        "authenticated": True,
    }
    dedupe_key = provider.webhook_dedupe_key(kind, headers, body)
    try:
        session_id = provider.webhook_session_id(kind, headers, body)
    except Exception as exc:  # anything reading it raises: kept as malformed, never a 500
        return _malformed_keep(common, dedupe_key=dedupe_key, provider=provider, kind=kind, exc=exc)

    event_id = inbound_event_insert_once(
        {**common, "dedupe_key": dedupe_key, "provider_session_id": session_id[:100]}
    )
    if event_id is None:
        InboundEvent.objects.filter(dedupe_key=dedupe_key).update(duplicates=F("duplicates") + 1)
        return Receipt(200, None, "duplicate")
    _enqueue(event_id)
    return Receipt(200, event_id, "stored")


def _rejected_keep(
    *,
    provider: Provider,
    kind: str,
    headers: Mapping[str, str],
    body: bytes,
    remote_addr: str | None,
    exc: WebhookRejected,
) -> Receipt:
    """A delivery that is not authentic: a trace within the budgets of webhooks/limits.py (its
    headers, size, hash and a prefix of its body), never the body whole."""
    admission = rejected_delivery_admit(remote_addr=remote_addr, body_size=len(body))
    if admission.retry_after is not None:
        return Receipt(429, None, "too many unauthenticated deliveries", retry_after=admission.retry_after)
    if not admission.store:
        logger.warning("webhook %s/%s rejected, not stored (hourly budget spent)", provider.name, kind)
        return Receipt(exc.status_code, None, "not authenticated")
    event = InboundEvent.objects.create(
        provider=provider.name,
        kind=kind,
        body=body[: admission.body_bytes],
        body_size=len(body),
        body_sha256=hashlib.sha256(body).hexdigest(),
        headers=_kept_headers(headers, max_length=REJECTED_HEADER_LENGTH),
        remote_addr=remote_addr,
        state=InboundEvent.State.REJECTED,
        auth_error=exc.reason[:200],
    )
    logger.warning("webhook %s/%s rejected (event %s): %s", provider.name, kind, event.pk, exc.reason)
    return Receipt(exc.status_code, event.pk, "not authenticated")


def _malformed_keep(
    common: dict, *, dedupe_key: str, provider: Provider, kind: str, exc: Exception
) -> Receipt:
    """An authentic delivery we cannot read (broken JSON, a number out of range, nesting too deep,
    a shape the provider package does not know): kept whole and marked MALFORMED, for inspection
    and replay (inbound_event_replay), and answered 400. Veriff resends any non-2xx hourly for up to
    a week, then stops; a resend has the same bytes, so it only counts as a duplicate here. Its key
    is apart from the readable deliveries' one: once the provider package reads these bytes (a
    fix deployed), the next resend is stored and processed as any delivery, not taken for a
    duplicate of this unprocessed row."""
    dedupe_key = f"malformed:{dedupe_key}"
    if isinstance(exc, WebhookMalformed):
        message = str(exc)
    else:  # a provider package's own error: its type only (personal data can sit in messages)
        message = f"body could not be read: {type(exc).__name__}"
    event_id = inbound_event_insert_once(
        {
            **common,
            "dedupe_key": dedupe_key,
            "provider_session_id": "",
            "state": InboundEvent.State.MALFORMED.value,
            "error": message[:1000],
        }
    )
    if event_id is None:
        InboundEvent.objects.filter(dedupe_key=dedupe_key).update(duplicates=F("duplicates") + 1)
    logger.warning("webhook %s/%s malformed (event %s): %s", provider.name, kind, event_id, message[:200])
    return Receipt(400, event_id, message)


def _enqueue(event_id: int) -> None:
    # robust: the event is stored and committed whatever happens here; a broker that is down must
    # not turn the provider's 200 into a 500 (it would then resend what we already have).
    # Reconciliation queues events left unqueued (kyc/operations/reconcile.py).
    transaction.on_commit(lambda: enqueue_event(event_id), robust=True)


def inbound_events_release_waiting(*, provider: str, provider_session_id: str) -> int:
    """Queue the events that arrived before their session existed."""
    ids = list(
        InboundEvent.objects.filter(
            provider=provider, provider_session_id=provider_session_id, state=InboundEvent.State.WAITING
        )
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
    )
    for event_id in ids:
        _enqueue(event_id)
    return len(ids)


# States an event may be replayed from. A malformed one is authentic: once the provider package
# reads what it could not (or to see the error again, with its traceback), it is processed as any.
REPLAYABLE = (InboundEvent.State.FAILED, InboundEvent.State.WAITING, InboundEvent.State.MALFORMED)


def inbound_event_replay(*, event_id: int) -> bool:
    """Queue a failed, waiting or malformed event again (admin action, management command)."""
    updated = InboundEvent.objects.filter(pk=event_id, authenticated=True, state__in=REPLAYABLE).update(
        state=InboundEvent.State.RECEIVED
    )
    if updated:
        _enqueue(event_id)
    return bool(updated)
