"""The inbound event store: keep, deduplicate, claim, process, release, replay."""

from __future__ import annotations

import functools
import hashlib
import logging
import traceback
from collections.abc import Mapping

from django.db import InterfaceError, OperationalError, connection, models, transaction
from django.db.models import F
from django.utils import timezone

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
        _authenticate(provider, request)
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
    }
    dedupe_key = provider.webhook_dedupe_key(request)
    try:
        session_id = provider.webhook_session_id(request)
    except Exception as exc:  # anything reading it raises: kept as malformed, never a 500
        return _malformed_keep(common, dedupe_key=dedupe_key, provider=provider, kind=kind, exc=exc)

    event_id = _insert_once({**common, "dedupe_key": dedupe_key, "provider_session_id": session_id[:100]})
    if event_id is None:
        InboundEvent.objects.filter(dedupe_key=dedupe_key).update(duplicates=F("duplicates") + 1)
        return Receipt(200, None, "duplicate")
    _enqueue(event_id)
    return Receipt(200, event_id, "stored")


def _authenticate(provider: Provider, request: WebhookRequest) -> None:
    """The per-session notification token first, for a provider that authenticates by it (the
    store checks it: it is ours, see webhooks/tokens.py), then the provider's own checks."""
    token = provider.notification_token(request)
    if token is not None and not notification_token_reference(provider=provider.name, token=token):
        raise WebhookRejected("notification token missing or not ours")
    provider.authenticate_webhook(request)


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
    return Receipt(provider.webhook_answers[ANSWER_MALFORMED], event_id, message)


# The columns an authentic delivery is inserted with; the others are NULL until processing.
_INSERTED = (
    "provider", "kind", "body", "headers", "query", "remote_addr", "received_at", "authenticated",
    "auth_error", "dedupe_key", "duplicates", "provider_session_id", "state", "attempts", "error",
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
    defaults["query"] = {}
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
    from webhooks.dispatch import enqueue_event

    # robust: the event is stored and committed whatever happens here; a broker that is down must
    # not turn the provider's 200 into a 500 (it would then resend what we already have).
    # Reconciliation queues events left unqueued (kyc/operations/reconcile.py).
    transaction.on_commit(lambda: enqueue_event(event_id), robust=True)


# States a worker may take an event from. FAILED is not among them: a failed event is parked for a
# human, and only a replay (back to RECEIVED) processes it again.
CLAIMABLE = (InboundEvent.State.RECEIVED, InboundEvent.State.WAITING)


def inbound_event_process(*, event_id: int) -> str | None:
    """Apply a stored event through kyc.services, exactly once; returns the event's new state
    (None: not ours to process — done already, or taken by another worker).

    The claim (a conditional update) and the work commit in one transaction. Of two workers holding
    the same event, the second blocks on the row the first updated and then finds it processed;
    a worker that dies, or loses the database, mid-way rolls its claim back with its work, so
    nothing is half-applied and nothing stays claimed by the dead.
    """
    from kyc.audit import audit_batch
    from kyc.inbound import provider_updates_apply  # [seamiface] hints and person updates
    from kyc.services import ApplyResult
    from providers.registry import get_provider

    try:
        with transaction.atomic():
            claimed = InboundEvent.objects.filter(
                pk=event_id, authenticated=True, state__in=CLAIMABLE
            ).update(
                state=InboundEvent.State.PROCESSING, claimed_at=timezone.now(), attempts=F("attempts") + 1
            )
            if not claimed:
                return None
            event = InboundEvent.objects.get(pk=event_id)
            request = WebhookRequest(
                kind=event.kind, headers=event.headers, body=bytes(event.body), query=event.query
            )
            updates = get_provider(event.provider).parse_webhook(request)
            # A decision's audit entries (decision, session status, customer status) are chained
            # together at the end of this transaction (kyc/audit.py).
            with audit_batch():
                results = provider_updates_apply(provider=event.provider, updates=updates)
            if ApplyResult.UNKNOWN_SESSION in results:
                new_state, processed_at = InboundEvent.State.WAITING, None
            else:
                new_state, processed_at = InboundEvent.State.PROCESSED, timezone.now()
            found = {}
            if not event.provider_session_id and updates:
                # Stored as malformed, readable since (a replay after a fix): index it now.
                event.provider_session_id = getattr(updates[0], "provider_session_id", "")[:100]
                found["provider_session_id"] = event.provider_session_id
            InboundEvent.objects.filter(pk=event_id).update(
                state=new_state, processed_at=processed_at, error="", **found
            )
            _redact_if_erased(event)
    except (OperationalError, InterfaceError):
        # The database went away: nothing was committed, the event is still RECEIVED. The task
        # retries with backoff (webhooks/tasks.py).
        raise
    except Exception as exc:
        # Personal data can sit in exception messages: the log gets the type, the admin the
        # traceback (staff only).
        logger.error("processing inbound event %s failed: %s", event_id, type(exc).__name__)
        InboundEvent.objects.filter(pk=event_id).update(
            state=InboundEvent.State.FAILED, attempts=F("attempts") + 1, error=traceback.format_exc()[-4000:]
        )
        return InboundEvent.State.FAILED

    # The session may have been attached between our look-up and this commit, after its release
    # ran: look once more now that the WAITING mark is committed. One of the two sides is then
    # sure to see the other.
    if new_state == InboundEvent.State.WAITING and _session_exists(event.provider, event.provider_session_id):
        return inbound_event_process(event_id=event_id)
    return new_state


def _redact_if_erased(event: InboundEvent) -> None:
    """A delivery about an erased customer's session (a provider's late retry) keeps no personal
    data: the fact is applied, its body and the decision's person data are blanked at once."""
    from kyc.models import ProviderDecision, VerificationSession
    from kyc.operations.redaction import decisions_redact, inbound_events_redact

    session = VerificationSession.objects.filter(
        provider=event.provider,
        provider_session_id=event.provider_session_id,
        customer__erased_at__isnull=False,
    ).first()
    if session is not None:
        inbound_events_redact(InboundEvent.objects.filter(pk=event.pk))
        decisions_redact(ProviderDecision.objects.filter(session=session))


def _session_exists(provider: str, provider_session_id: str) -> bool:
    from kyc.models import VerificationSession

    return (
        bool(provider_session_id)
        and VerificationSession.objects.filter(
            provider=provider, provider_session_id=provider_session_id
        ).exists()
    )


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
