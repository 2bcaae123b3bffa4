"""The one way to write an AuditEvent, and the hash chain that makes the trail tamper-evident.

Each entry's `hash` is SHA-256 over a canonical JSON of its content plus `prev_hash`, the hash of
the entry before it. Changing an entry in the database breaks its own hash; deleting or reordering
entries breaks the next entry's `prev_hash`. `python manage.py verify_audit` walks the chain.

Entries hold ids, actions and field names, never personal values (names, dates of birth, document
numbers): personal data can then be erased without touching, or breaking, the trail.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from kyc.models import AuditEvent

# The chain's first entry links to this.
GENESIS = "0" * 64
# Any constant; the key of the PostgreSQL advisory lock that serializes appends to the chain.
_CHAIN_LOCK_KEY = 0x4B594341  # "KYCA"


def canonical(event: AuditEvent) -> bytes:
    """The bytes that are hashed: every field that says what happened, in a fixed form that
    survives a round trip through the database (JSON with sorted keys, UTC times)."""
    content = {
        "created_at": event.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "customer_id": event.customer_id,
        "session_id": event.session_id,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


def _lock_chain() -> None:
    """Serialize appends until the caller's transaction commits.

    The race: two transactions each read the same last entry, hash onto it, and commit: the
    chain forks (two entries with one prev_hash) and verify_audit reports a break that is no
    tampering. On PostgreSQL a transaction-level advisory lock makes the second appender wait
    until the first commits; it then reads the first's entry as the last one (READ COMMITTED
    takes a new snapshot per statement). On SQLite the project opens every transaction with
    BEGIN IMMEDIATE (config/settings.py), which already takes the database's write lock, so
    appenders are serialized before they read. Other databases: lock the last row (weaker: a
    first-ever pair of entries could still race).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    elif connection.vendor != "sqlite":
        list(AuditEvent.objects.select_for_update().order_by("-id").values_list("id", flat=True)[:1])


def _last_hash() -> str:
    last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    return last or GENESIS


def audit_event(
    *,
    action: str,
    actor=None,
    actor_label: str = "",
    customer=None,
    customer_id: int | None = None,
    session=None,
    object: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """An entry not yet chained: audit_append([...]) writes it (audit_record does both)."""
    if actor is not None and not actor_label:
        actor_label = f"user:{actor.get_username()}"
    event = AuditEvent(
        created_at=timezone.now(),
        action=action,
        actor=actor,
        actor_label=actor_label or "system",
        customer_id=customer.pk if customer is not None else customer_id,
        session=session,
        object_type=object._meta.label_lower if object is not None else "",
        object_id=str(object.pk) if object is not None else "",
        # Through JSON and back, so that what is hashed is what the database will return.
        before=json.loads(json.dumps(before or {})),
        after=json.loads(json.dumps(after or {})),
    )
    return event


def audit_record(
    *,
    action: str,
    actor=None,
    actor_label: str = "",
    customer=None,
    customer_id: int | None = None,
    session=None,
    object: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    event = audit_event(
        action=action,
        actor=actor,
        actor_label=actor_label,
        customer=customer,
        customer_id=customer_id,
        session=session,
        object=object,
        before=before,
        after=after,
    )
    audit_append([event])
    return event


# Entries held by the audit_batch block of the current thread (or task), None outside one.
_batch: contextvars.ContextVar[list[AuditEvent] | None] = contextvars.ContextVar("audit_batch", default=None)


@contextlib.contextmanager
def audit_batch():
    """Within this block, entries are held and chained together when it ends: one chain lock, one
    read of the last hash and one INSERT for all of them, instead of three statements each. Use it
    inside the transaction that makes the changes the entries describe (a provider decision
    writes three: the decision, the session's status, the customer's), so that they commit or
    roll back together. The chain lock is then taken just before the commit, not at the first
    entry, so concurrent transactions wait for each other's commit only, not for all of their
    work. An error inside the block drops the held entries with the transaction it rolls back."""
    if _batch.get() is not None:  # within an outer batch: that one writes them
        yield
        return
    token = _batch.set([])
    try:
        yield
        held = _batch.get() or []
    finally:
        _batch.reset(token)
    if held:
        audit_append(held)


def audit_append(events: list[AuditEvent]) -> None:
    """Chain `events` onto the trail in list order, in the caller's transaction (or one of their
    own): one chain lock, one read of the last hash and one INSERT however many there are (the
    files of one decision are stored together, kyc/media.py). No savepoint inside the caller's
    transaction: the chain lock is transaction-scoped, so a savepoint could not release it early,
    and an entry that fails to insert must fail the caller's whole change anyway; a savepoint
    would only cost two round trips per entry (benchmarks/decision_latency.py). Within an
    audit_batch block, the entries are held for the block's end."""
    held = _batch.get()
    if held is not None:
        held.extend(events)
        return
    with transaction.atomic(savepoint=False):
        _lock_chain()
        previous = _last_hash()
        for event in events:
            event.prev_hash = previous
            event.hash = previous = compute_hash(event)
        if len(events) == 1:
            events[0].save(force_insert=True)
        else:
            # Inserted in list order, so ids follow the chain (bulk_create keeps the order).
            AuditEvent.objects.bulk_create(events)


def audit_bulk_insert(events: list[AuditEvent], *, batch_size: int = 5000) -> None:
    """Append many prepared entries at once, chained in list order (bulk data generation: the
    scale benchmark's command). Each entry's created_at must be set by the caller."""
    with transaction.atomic():
        _lock_chain()
        previous = _last_hash()
        for event in events:
            event.before = json.loads(json.dumps(event.before or {}))
            event.after = json.loads(json.dumps(event.after or {}))
            event.prev_hash = previous
            event.hash = previous = compute_hash(event)
        # Inserted in list order, so ids follow the chain (bulk_create keeps the order).
        AuditEvent.objects.bulk_create(events, batch_size=batch_size)


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    problem: str


@dataclass(frozen=True)
class ChainReport:
    entries: int
    head: str
    first_break: ChainBreak | None


def verify_chain(events: Iterable[AuditEvent] | None = None) -> ChainReport:
    """Walk the chain in id order and report the first entry that does not hold."""
    if events is None:
        events = AuditEvent.objects.order_by("id").iterator(chunk_size=2000)
    previous = GENESIS
    count = 0
    for event in events:
        count += 1
        if event.prev_hash != previous:
            return ChainReport(
                count,
                previous,
                ChainBreak(event.pk, "its prev_hash is not the hash of the entry before it"),
            )
        if compute_hash(event) != event.hash:
            return ChainReport(count, previous, ChainBreak(event.pk, "its content does not match its hash"))
        previous = event.hash
    return ChainReport(count, previous, None)
