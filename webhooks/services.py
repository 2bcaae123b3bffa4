"""The inbound event store: keep, deduplicate, release, replay. Processing (claim, apply, mark) is
in webhooks/processing.py."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Mapping

from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone

from providers.base import Provider, WebhookMalformed, WebhookRejected
from webhooks.dispatch import enqueue_event
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

    event_id = _insert_once({**common, "dedupe_key": dedupe_key, "provider_session_id": session_id[:100]})
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
    event_id = _insert_once(
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


# The columns an authentic delivery is inserted with; the others are NULL until processing.
_INSERTED = (
    "provider", "kind", "body", "headers", "remote_addr", "received_at", "authenticated", "auth_error",
    "dedupe_key", "duplicates", "provider_session_id", "state", "attempts", "error",
)  # fmt: skip


# Values of these field types go to the driver as they are; the others (binary, JSON, IP address,
# date) are prepared by their field for the database, as the ORM does.
_PLAIN_FIELDS = (models.CharField, models.TextField, models.BooleanField, models.PositiveIntegerField)


@functools.cache
def _insert_sql(vendor: str) -> tuple[str, tuple]:
    meta = InboundEvent._meta
    fields = tuple(meta.get_field(name) for name in _INSERTED)
    prepared = tuple(
        (field.name, None if type(field) in _PLAIN_FIELDS else field.get_db_prep_save) for field in fields
    )
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    dedupe = quote(meta.get_field("dedupe_key").column)
    # Identifiers from the model, quoted; the values are parameters.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
        f" ON CONFLICT ({dedupe}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    return sql, prepared


def _insert_once(values: dict) -> int | None:
    """Insert an authentic event; its id, or None when its dedupe key is stored already.

    The unique dedupe key catches a duplicate delivery, and two identical deliveries racing
    (dj-stripe's way): the second insert finds the first and inserts nothing. One statement, no
    exception and no savepoint for a duplicate: in a request (autocommit) it is a transaction of
    its own. Written as SQL rather than `Model.save()`, whose compilation was a fifth of a
    delivery's CPU (benchmarks/webhook_ingest.py); the columns and values still come from the
    model's fields, prepared by the fields as the ORM would.
    """
    sql, prepared = _insert_sql(connection.vendor)
    defaults = {"received_at": timezone.now(), "auth_error": "", "duplicates": 0, "attempts": 0, "error": ""}
    values = {"state": InboundEvent.State.RECEIVED.value, **defaults, **values}
    params = [
        values[name] if prepare is None else prepare(values[name], connection) for name, prepare in prepared
    ]
    row = _execute_fetchone(sql, params)
    return row[0] if row else None


def _execute_fetchone(sql: str, params: list):
    """Run one statement and fetch its row. On PostgreSQL, with the parameters bound by the server
    (a plain psycopg cursor, not the client-side binding one Django uses): the body is sent as it
    is instead of being escaped into the SQL text in Python, and the statement, the same for every
    delivery, is prepared once per connection (psycopg prepares a query from its fifth run), not
    parsed and planned each time (benchmarks/ingest_cpu.py). Django's wrapper still turns the
    driver's errors into Django's (the view retries a connection that died)."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


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
