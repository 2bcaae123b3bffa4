"""The inbound event store: keep, deduplicate, release, replay. Processing (claim, apply, mark) is
in webhooks/processing.py."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping

from django.db import transaction
from django.db.models import F

from providers.base import (
    ANSWER_MALFORMED,
    ANSWER_PING,
    ANSWER_UNKNOWN_SUBSCRIPTION,
    Provider,
    WebhookMalformed,
    WebhookPing,
    WebhookRejected,
    WebhookRequest,
)
from webhooks.dispatch import enqueue_event
from webhooks.fastpath import inbound_event_insert_once
from webhooks.limits import rejected_delivery_admit
from webhooks.models import InboundEvent
from webhooks.tokens import notification_token_reference

logger = logging.getLogger(__name__)

# A rejected delivery's header values are cut to this length: they are anyone's to choose.
REJECTED_HEADER_LENGTH = 256


def _fingerprint(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


def _kept_headers(
    provider: Provider, headers: Mapping[str, str], *, max_length: int | None = None
) -> dict[str, str]:
    """The headers its provider keeps with an event (Provider.kept_webhook_headers), and the
    fingerprints of those it keeps only so (API keys, tokens)."""
    kept = {name: headers[name][:max_length] for name in provider.kept_webhook_headers if name in headers}
    for name in provider.fingerprinted_webhook_headers:
        if name in headers:
            kept[name] = _fingerprint(headers[name])
    return kept


def _kept_query(
    provider: Provider, query: Mapping[str, str], *, max_length: int | None = None
) -> dict[str, str]:
    """The query parameters its provider needs for processing (Provider.kept_webhook_query); the
    notification token is never among them (the request is authenticated by it, and a clear copy
    in the table would let anyone who reads it deliver as the provider)."""
    return {name: str(query[name])[:max_length] for name in provider.kept_webhook_query if name in query}


class Receipt:
    """What the receiving view answers: HTTP status, and the stored event's id (if any);
    `retry_after` (seconds) with a 429."""

    def __init__(self, status: int, event_id: int | None, message: str, retry_after: int | None = None):
        self.status, self.event_id, self.message = status, event_id, message
        self.retry_after = retry_after


def inbound_event_receive(
    *,
    provider: Provider,
    kind: str,
    headers: Mapping[str, str],
    body: bytes,
    remote_addr: str | None,
    query: Mapping[str, str] | None = None,
) -> Receipt:
    """Authenticate on the raw request, store, and queue processing after commit.

    Nothing is parsed before authentication; an authentic delivery is stored before we answer, so
    nothing is lost after it. Each answer that is not a plain "stored" is the provider's own
    (Provider.webhook_answers).
    """
    request = WebhookRequest(kind=kind, headers=headers, body=body, query=query or {})
    try:
        reference = _authenticate(provider, request)
    except WebhookPing:
        return Receipt(provider.webhook_answers[ANSWER_PING], None, "ping")
    except WebhookRejected as exc:
        return _rejected_keep(provider=provider, request=request, remote_addr=remote_addr, exc=exc)

    common = {
        "provider": provider.name,
        "kind": kind,
        "body": body,
        "headers": _kept_headers(provider, headers),
        "query": _kept_query(provider, request.query),
        "remote_addr": remote_addr,
        "authenticated": True,
        "session_reference": reference,
    }
    dedupe_key = provider.webhook_dedupe_key(request)
    try:
        session_id = provider.webhook_session_id(request)
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


def _authenticate(provider: Provider, request: WebhookRequest) -> str:
    """The per-session notification token first, for a provider that authenticates by it (the
    store checks it: it is ours, see webhooks/tokens.py), then the provider's own checks. The
    reference of the session the token is for; "" for a provider that authenticates otherwise."""
    token = provider.notification_token(request)
    reference = ""
    if token is not None:
        reference = notification_token_reference(provider=provider.name, token=token)
        if not reference:
            raise WebhookRejected("notification token missing or not ours")
    provider.authenticate_webhook(request)
    return reference


def _rejected_keep(
    *,
    provider: Provider,
    request: WebhookRequest,
    remote_addr: str | None,
    exc: WebhookRejected,
) -> Receipt:
    """A delivery that is not authentic, or for a subscription or secret we do not hold: a trace
    within the budgets of webhooks/limits.py (its headers, size, hash and a prefix of its body),
    never the body whole, answered as its provider wants (a forgery so that it stops, an unknown
    subscription so that it delivers again once we know the secret)."""
    kind, body = request.kind, request.body
    status = exc.status_code or provider.webhook_answers[exc.outcome]
    admission = rejected_delivery_admit(remote_addr=remote_addr, body_size=len(body))
    if admission.retry_after is not None:
        return Receipt(429, None, "too many unauthenticated deliveries", retry_after=admission.retry_after)
    if not admission.store:
        logger.warning("webhook %s/%s rejected, not stored (hourly budget spent)", provider.name, kind)
        return Receipt(status, None, "not authenticated")
    event = InboundEvent.objects.create(
        provider=provider.name,
        kind=kind,
        body=body[: admission.body_bytes],
        body_size=len(body),
        body_sha256=hashlib.sha256(body).hexdigest(),
        headers=_kept_headers(provider, request.headers, max_length=REJECTED_HEADER_LENGTH),
        query=_kept_query(provider, request.query, max_length=REJECTED_HEADER_LENGTH),
        remote_addr=remote_addr,
        state=InboundEvent.State.REJECTED,
        auth_error=f"{exc.outcome}: {exc.reason}"[:200],
    )
    if exc.outcome == ANSWER_UNKNOWN_SUBSCRIPTION:
        # Ours to fix (a secret not set here): said loudly, the provider delivers it again.
        logger.error(
            "webhook %s/%s for an unknown subscription (event %s): %s",
            provider.name,
            kind,
            event.pk,
            exc.reason,
        )
    else:
        logger.warning("webhook %s/%s rejected (event %s): %s", provider.name, kind, event.pk, exc.reason)
    return Receipt(status, event.pk, "not authenticated")


def inbound_event_refuse_body(
    *,
    provider: Provider,
    kind: str,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    remote_addr: str | None,
    declared: int | None,
    status: int,
    reason: str,
) -> Receipt:
    """A delivery whose body was not read (webhooks/limits.py, webhook_body_read: no
    Content-Length, or over its URL's bound): traced as any rejected delivery, within the same
    budgets, with the size it declared and none of its body (not one byte of it was read, so it
    was not authenticated either)."""
    admission = rejected_delivery_admit(remote_addr=remote_addr, body_size=0)
    if admission.retry_after is not None:
        return Receipt(429, None, "too many unauthenticated deliveries", retry_after=admission.retry_after)
    if not admission.store:
        logger.warning("webhook %s/%s refused unread, not stored (hourly budget spent)", provider.name, kind)
        return Receipt(status, None, reason)
    event = InboundEvent.objects.create(
        provider=provider.name,
        kind=kind,
        body=b"",
        body_size=declared,
        headers=_kept_headers(provider, headers, max_length=REJECTED_HEADER_LENGTH),
        query=_kept_query(provider, query, max_length=REJECTED_HEADER_LENGTH),
        remote_addr=remote_addr,
        state=InboundEvent.State.REJECTED,
        auth_error=f"body_refused: {reason}"[:200],
    )
    logger.warning("webhook %s/%s refused unread (event %s): %s", provider.name, kind, event.pk, reason)
    return Receipt(status, event.pk, reason)


def _malformed_keep(
    common: dict, *, dedupe_key: str, provider: Provider, kind: str, exc: Exception
) -> Receipt:
    """An authentic delivery we cannot read (broken JSON, a number out of range, nesting too deep,
    a shape the provider package does not know): kept whole and marked MALFORMED, for inspection
    and replay (inbound_event_replay), and answered as its provider wants
    (Provider.webhook_answers; Veriff: 400, which it resends hourly for up to a week, then stops).
    A resend has the same bytes, so it only counts as a duplicate here. Its key is apart from the
    readable deliveries' one: once the provider package reads these bytes (a fix deployed), the
    next resend is stored and processed as any delivery, not taken for a duplicate of this
    unprocessed row."""
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
    return Receipt(provider.webhook_answers[ANSWER_MALFORMED], event_id, message)


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
