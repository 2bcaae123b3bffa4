"""Polling the providers that must be polled (Provider.poll_interval; ShareID: its callback is
optional and only a hint, and it answers a second fetch of one applicant within 5 s with "too
many calls").

The schedule is in the database (kyc/services/poll_schedule.py says what its two columns hold).
One pass, `sessions_poll_due`:
1. claims the due sessions in one transaction, moving each to the end of a lease, so that two
   pollers never take one session and a poller that dies mid-fetch loses nothing (the session
   comes due again when the lease ends);
2. fetches them concurrently in a bounded pool of threads (the provider keeps its own keep-alive
   HTTP session; the threads never touch the database);
3. applies each update as it comes, in its own transaction, and records every session's next
   fetch in one UPDATE for the batch: one interval after the fetch was answered. The provider
   counts its interval between the fetches it receives; a fetch is received before it is answered
   and after it starts, so counting from the answer (not from the start) keeps the provider's rule
   however late a request reaches it.

"Not ready" (no update) and "too many calls" (ProviderRateLimited) are the ordinary answers of a
poll: no error logged, no failure counted. A transient fault backs off, logged once per session and
hour, not at every poll; a permanent one stops polling the session, logged and in its audit trail.
Sessions past their lifetime are left to the caller to close (kyc/operations/polling.py: closing
is an operation, above these services).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Case, DateTimeField, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from kyc import status as st
from kyc.audit import audit_batch, audit_record
from kyc.models import VerificationSession
from kyc.selectors import session_person_id
from kyc.services.provider_updates import provider_update_apply
from providers.base import Provider, ProviderError, ProviderNotConfigured, ProviderRateLimited, ProviderUpdate
from providers.registry import find_provider, get_provider

logger = logging.getLogger(__name__)

# After a transient fault (a timeout, a 5xx) the next poll waits this many intervals.
FAULT_INTERVALS = 6
# A session's transient faults are logged at most once in this many seconds (an outage of the
# provider is one line per session, not one per session every few seconds).
FAULT_LOG_EVERY = 3600
POLLER_ACTOR = "system:poller"

# How a fetch ended (Outcome.kind).
NOT_READY = "not_ready"
RATE_LIMITED = "rate_limited"
FAULT = "fault"
STOPPED = "stopped"
APPLIED = "applied"
SKIPPED = "skipped"


@dataclass(frozen=True)
class Claimed:
    session_id: int
    provider: str
    provider_session_id: str
    customer_id: int
    interval: dt.timedelta


@dataclass
class PollBatch:
    """What one claim took: the sessions to fetch, and those it took off the schedule."""

    claimed_at: dt.datetime
    #: The lease's end, written as every claimed session's poll_next_at: the claim's token too (a
    #: record is written only where it is still there).
    lease_until: dt.datetime
    sessions: list[Claimed] = field(default_factory=list)
    past_lifetime: list[int] = field(default_factory=list)
    dropped: int = 0  # no longer polled: decided, closed, its provider not polled any more


@dataclass
class PollReport:
    claimed: int = 0
    fetched: int = 0
    not_ready: int = 0
    rate_limited: int = 0
    faults: int = 0
    stopped: int = 0
    applied: int = 0
    skipped: int = 0  # claimed but not fetched in time: due again at the lease's end
    dropped: int = 0
    past_lifetime: list[int] = field(default_factory=list)
    closed: int = 0  # of past_lifetime, closed by the caller

    def add(self, other: PollReport) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "past_lifetime"}


@dataclass(frozen=True)
class _Outcome:
    session: Claimed
    kind: str
    answered_at: dt.datetime | None = None
    update: ProviderUpdate | None = None
    retry_after: float = 0.0
    error: str = ""


def _lifetime_start(row: dict) -> dt.datetime:
    return row["provider_created_at"] or row["created_at"]


def sessions_poll_claim(*, now: dt.datetime | None = None, limit: int | None = None) -> PollBatch:
    """Take up to `limit` due sessions (KYC_POLL_BATCH), soonest due first, for one poller."""
    now = now or timezone.now()
    limit = limit or settings.KYC_POLL_BATCH
    grace = dt.timedelta(seconds=settings.KYC_POLL_LIFETIME_GRACE)
    with transaction.atomic():
        # The race: two pollers (Celery ticks side by side, two machines) read the same due rows and
        # both fetch them, the second fetch answered "too many calls". Locked with SKIP LOCKED, the
        # second skips the rows the first holds and takes the next ones (PostgreSQL; SQLite's BEGIN
        # IMMEDIATE serializes the two). The lease written below keeps them out of later claims.
        rows = list(
            VerificationSession.objects.filter(poll_next_at__lte=now)
            .order_by("poll_next_at")
            .select_for_update(skip_locked=True, of=("self",))
            .values(
                "pk",
                "provider",
                "provider_session_id",
                "status",
                "customer_id",
                "provider_created_at",
                "created_at",
            )[:limit]
        )
        polled, past, dropped = [], [], []
        for row in rows:
            provider = find_provider(row["provider"])
            interval = provider.poll_interval if provider is not None else None
            if interval is None or row["status"] not in st.OPEN or not row["provider_session_id"]:
                dropped.append(row["pk"])
            elif _lifetime_start(row) + provider.session_lifetime + grace < now:
                past.append(row["pk"])
            else:
                polled.append(
                    Claimed(
                        row["pk"], row["provider"], row["provider_session_id"], row["customer_id"], interval
                    )
                )
        longest = max((c.interval for c in polled), default=dt.timedelta(0))
        # At least four intervals: a fetch starts in the lease's first half and is answered (or
        # times out, under KYC_POLL_LEASE / 2 less an interval) before the lease's end less one
        # interval. polled_at = that bound: no hint brings the session forward while it is claimed.
        lease_until = now + max(dt.timedelta(seconds=settings.KYC_POLL_LEASE), 4 * longest)
        if dropped or past:
            VerificationSession.objects.filter(pk__in=dropped + past).update(poll_next_at=None)
        for interval in {c.interval for c in polled}:
            VerificationSession.objects.filter(
                pk__in=[c.session_id for c in polled if c.interval == interval]
            ).update(poll_next_at=lease_until, polled_at=lease_until - interval)
    return PollBatch(now, lease_until, polled, past, len(dropped))


def _fetch(claimed: Claimed, person_id: str, start_by: float) -> _Outcome:
    """One fetch, in a pool thread: no database here."""
    if time.monotonic() > start_by:
        # Too late: its answer might come after the lease's end, when another poller may fetch it.
        return _Outcome(claimed, SKIPPED)
    try:
        provider: Provider = get_provider(claimed.provider)
        update = provider.fetch_update(claimed.provider_session_id, provider_person_id=person_id)
    except ProviderRateLimited as exc:
        return _Outcome(claimed, RATE_LIMITED, timezone.now(), retry_after=exc.retry_after or 0.0)
    except ProviderNotConfigured as exc:
        # The operator's to fix, and then every session must go on: backed off, not stopped.
        return _Outcome(claimed, FAULT, timezone.now(), error=str(exc))
    except ProviderError as exc:
        return _Outcome(claimed, STOPPED if exc.permanent else FAULT, timezone.now(), error=str(exc))
    except Exception as exc:  # a bug in a provider must not cost the rest of the batch
        logger.exception("polling session %s: the provider's fetch failed", claimed.session_id)
        return _Outcome(claimed, FAULT, timezone.now(), error=f"{type(exc).__name__}: {exc}")
    if update is None or update.hint:  # not ready (a fetch's answer is never only a hint)
        return _Outcome(claimed, NOT_READY, timezone.now())
    return _Outcome(claimed, APPLIED, timezone.now(), update=update)


def _apply(outcome: _Outcome) -> _Outcome:
    """Apply a fetched update in its own transaction; a failure is a fault, retried later."""
    claimed = outcome.session
    try:
        with transaction.atomic(), audit_batch():
            provider_update_apply(provider=claimed.provider, update=outcome.update)
    except Exception as exc:
        logger.exception("polling session %s: applying the fetched update failed", claimed.session_id)
        return _Outcome(claimed, FAULT, outcome.answered_at, error=f"{type(exc).__name__}: {exc}")
    return outcome


def _next_at(outcome: _Outcome, *, still_open: bool) -> dt.datetime | None:
    interval, answered = outcome.session.interval, outcome.answered_at
    if outcome.kind == RATE_LIMITED:
        return answered + max(interval, dt.timedelta(seconds=outcome.retry_after))
    if outcome.kind == FAULT:
        return answered + FAULT_INTERVALS * interval
    if outcome.kind == STOPPED or (outcome.kind == APPLIED and not still_open):
        return None
    return answered + interval


def sessions_poll_fetch(batch: PollBatch, *, threads: int | None = None) -> PollReport:
    """Fetch the claimed sessions, apply what they say, record when each is fetched next."""
    report = PollReport(
        claimed=len(batch.sessions), dropped=batch.dropped, past_lifetime=list(batch.past_lifetime)
    )
    if not batch.sessions:
        return report
    outcomes: list[_Outcome] = []
    with ThreadPoolExecutor(
        max_workers=min(threads or settings.KYC_POLL_THREADS, len(batch.sessions))
    ) as pool:
        futures = []
        for claimed in batch.sessions:
            # A fetch starts in the first half of its lease, or not at all: the second half is for
            # its answer, so that the next claim, at the lease's end, never overlaps it.
            start_by = (
                time.monotonic()
                + (
                    batch.claimed_at + (batch.lease_until - batch.claimed_at) / 2 - timezone.now()
                ).total_seconds()
            )
            person = session_person_id(customer_id=claimed.customer_id, provider=claimed.provider)
            futures.append(pool.submit(_fetch, claimed, person, start_by))
        for future in as_completed(futures):
            outcome = future.result()
            if outcome.kind == APPLIED:
                outcome = _apply(outcome)  # here, as it comes: a decision is not held for the batch
            outcomes.append(outcome)
    applied = [o.session.session_id for o in outcomes if o.kind == APPLIED]
    still_open = set(
        VerificationSession.objects.filter(pk__in=applied, status__in=st.OPEN).values_list("pk", flat=True)
    )
    schedule = {
        o.session.session_id: (o.answered_at, _next_at(o, still_open=o.session.session_id in still_open))
        for o in outcomes
        if o.kind != SKIPPED
    }
    _record(schedule, lease_until=batch.lease_until)
    counts = Counter(o.kind for o in outcomes)
    report.not_ready, report.rate_limited, report.faults = (
        counts[NOT_READY],
        counts[RATE_LIMITED],
        counts[FAULT],
    )
    report.stopped, report.applied, report.skipped = counts[STOPPED], counts[APPLIED], counts[SKIPPED]
    report.fetched = len(outcomes) - report.skipped
    _report_faults([o for o in outcomes if o.kind == FAULT])
    _report_stops([o for o in outcomes if o.kind == STOPPED])
    return report


# Record chunks: two CASE expressions of this many branches each, in one UPDATE.
RECORD_CHUNK = 500


def _record(schedule: dict[int, tuple[dt.datetime, dt.datetime | None]], *, lease_until: dt.datetime) -> None:
    """Every session's fetch start and next fetch, one UPDATE per chunk rather than one per
    session. Only where the claim's lease is still written: a session stopped, restarted or
    claimed again meanwhile keeps what was written since."""
    if connection.vendor == "postgresql":
        _record_arrays(schedule, lease_until=lease_until)
        return
    ids = list(schedule)
    for i in range(0, len(ids), RECORD_CHUNK):
        chunk = ids[i : i + RECORD_CHUNK]
        VerificationSession.objects.filter(pk__in=chunk, poll_next_at=lease_until).update(
            polled_at=Case(
                *[When(pk=pk, then=Value(schedule[pk][0])) for pk in chunk], output_field=DateTimeField()
            ),
            poll_next_at=Case(
                *[When(pk=pk, then=_timestamp(schedule[pk][1])) for pk in chunk], output_field=DateTimeField()
            ),
        )


def _timestamp(value: dt.datetime | None) -> Value | Cast:
    # A NULL typed as a timestamp: PostgreSQL reads a CASE whose branches are all bare NULLs (a
    # batch whose every session stops being polled) as text, and refuses it for the column.
    return Value(value) if value is not None else Cast(Value(None), output_field=DateTimeField())


# _record on PostgreSQL: the batch as three arrays joined in one UPDATE. The table and columns
# are VerificationSession's (tests/integration/test_polling_record.py runs the record's tests here).
RECORD_ARRAYS_SQL = (
    "UPDATE kyc_verificationsession AS s SET polled_at = v.polled_at, poll_next_at = v.next_at"
    " FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) AS v(id, polled_at, next_at)"
    " WHERE s.id = v.id AND s.poll_next_at = %s"
)


def _record_arrays(
    schedule: dict[int, tuple[dt.datetime, dt.datetime | None]], *, lease_until: dt.datetime
) -> None:
    """The ORM's CASE with a WHEN per session cost the poller more CPU to build than the fetch
    it records (benchmarks/README.md, "Issue 15")."""
    ids = list(schedule)
    with connection.cursor() as cursor:
        cursor.execute(
            RECORD_ARRAYS_SQL,
            [ids, [schedule[pk][0] for pk in ids], [schedule[pk][1] for pk in ids], lease_until],
        )


def _report_faults(faults: list[_Outcome]) -> None:
    if not faults:
        return
    keys = {f"kyc:poll-fault:{o.session.session_id}": o for o in faults}
    # The cache (CACHE_URL, shared by every process) remembers which sessions were logged lately.
    logged = cache.get_many(list(keys))
    fresh = {key: o for key, o in keys.items() if key not in logged}
    for o in fresh.values():
        logger.warning(
            "polling session %s failed, polled again after %s intervals (logged once an hour): %s",
            o.session.session_id,
            FAULT_INTERVALS,
            o.error,
        )
    cache.set_many(dict.fromkeys(fresh, 1), timeout=FAULT_LOG_EVERY)


def _report_stops(stops: list[_Outcome]) -> None:
    for o in stops:
        logger.error("polling session %s stopped: %s", o.session.session_id, o.error)
        session = VerificationSession.objects.filter(pk=o.session.session_id).first()
        if session is not None:
            # Staff see it on the case page: a session nobody asks about any more.
            audit_record(
                action="session.polling_stopped",
                actor_label=POLLER_ACTOR,
                customer_id=session.customer_id,
                session=session,
                object=session,
                after={"why": o.error[:300]},
            )


def sessions_poll_due(
    *, now: dt.datetime | None = None, limit: int | None = None, threads: int | None = None
) -> PollReport:
    """Claim the due sessions and fetch them (one batch). The report's `past_lifetime`: sessions
    taken off the schedule, for the caller to close."""
    return sessions_poll_fetch(sessions_poll_claim(now=now, limit=limit), threads=threads)
