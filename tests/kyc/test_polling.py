"""The poller (kyc/services/polling.py, kyc/operations/polling.py): the schedule in the database,
the claim, and what each answer of a fetch does to the schedule. SQLite, a scripted polled provider
(tests/kyc/polling_fakes.py)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kyc import status as st
from kyc.models import AuditEvent, VerificationSession
from kyc.operations.polling import poll_due
from kyc.services import poll_schedule, polling, provider_sessions, sessions
from providers.base import ProviderError, ProviderRateLimited
from tests.factories import SessionFactory
from tests.kyc import polling_fakes
from tests.kyc.polling_fakes import ANSWERS, FETCHES
from tests.providers import fakes

pytestmark = pytest.mark.django_db

INTERVAL = dt.timedelta(seconds=5)
LEASE = dt.timedelta(seconds=60)


@pytest.fixture(autouse=True)
def _scripted(settings):
    fakes.use_providers(settings, polling_fakes.PROVIDERS)
    settings.KYC_POLL_LEASE = 60
    polling_fakes.reset()
    yield
    polling_fakes.reset()


def due(**fields) -> VerificationSession:
    """A scripted session, due now."""
    defaults = {
        "provider_created_at": timezone.now(),
        "poll_next_at": timezone.now() - dt.timedelta(seconds=1),
    }
    return SessionFactory(provider="scripted", **(defaults | fields))


def fresh(session) -> VerificationSession:
    session.refresh_from_db()
    return session


def test_a_session_made_at_the_provider_is_due_one_interval_later(customer):
    session = sessions.verification_start(customer=customer, provider="scripted", actor_label="test")
    before = timezone.now()
    session = fresh(provider_sessions.session_create_at_provider(session_id=session.pk))
    assert before + INTERVAL <= session.poll_next_at <= timezone.now() + INTERVAL
    assert poll_due().claimed == 0  # not due yet
    assert poll_due(now=session.poll_next_at).fetched == 1


def test_a_session_not_due_or_not_polled_is_not_fetched():
    later = SessionFactory(provider="scripted", poll_next_at=timezone.now() + INTERVAL)
    veriff = SessionFactory(provider="veriff")  # poll_next_at None: never on the schedule
    report = poll_due()
    assert report.claimed == 0 and not FETCHES
    assert fresh(later).poll_next_at > timezone.now() and fresh(veriff).poll_next_at is None


def test_a_claimed_session_is_not_claimed_again_until_its_lease_ends():
    session = due()
    now = timezone.now()
    batch = polling.sessions_poll_claim(now=now)
    assert [c.session_id for c in batch.sessions] == [session.pk]
    assert fresh(session).poll_next_at == now + LEASE
    # Another poller, meanwhile: nothing for it.
    assert polling.sessions_poll_claim(now=now + LEASE - dt.timedelta(seconds=1)).sessions == []
    # The first poller died mid-fetch (it never recorded): the session comes back after the lease.
    again = polling.sessions_poll_claim(now=now + LEASE)
    assert [c.session_id for c in again.sessions] == [session.pk]


def test_not_ready_is_polled_again_one_interval_after_the_fetch_was_answered_in_one_update():
    batch = [due() for _ in range(5)]
    polling_fakes.DELAY["seconds"] = 0.2  # a slow answer: the interval counts from its end
    before = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        report = poll_due()
    after = timezone.now()
    assert (report.claimed, report.fetched, report.not_ready) == (5, 5, 5)
    for session in batch:
        session = fresh(session)
        assert before + dt.timedelta(seconds=0.2) <= session.polled_at <= after
        assert session.poll_next_at == session.polled_at + INTERVAL
        assert session.status == st.CREATED
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 2  # the claim's lease, and the batch's record: not one per session


def test_too_many_calls_waits_what_the_provider_asks_and_logs_nothing(caplog):
    session = due()
    ANSWERS[session.provider_session_id] = [ProviderRateLimited(retry_after=30)]
    with caplog.at_level(logging.WARNING):
        report = poll_due()
    assert report.rate_limited == 1 and report.faults == 0
    session = fresh(session)
    assert session.poll_next_at == session.polled_at + dt.timedelta(seconds=30)
    assert not caplog.records
    # A Retry-After shorter than the interval never makes a fetch sooner than the interval.
    ANSWERS[session.provider_session_id] = [ProviderRateLimited(retry_after=1)]
    poll_due(now=session.poll_next_at)
    session = fresh(session)
    assert session.poll_next_at == session.polled_at + INTERVAL


def test_a_transient_fault_backs_off_and_is_logged_once_not_at_every_poll(caplog):
    session = due()
    ANSWERS[session.provider_session_id] = [ProviderError("503 from the provider")] * 2 + [None]
    with caplog.at_level(logging.WARNING, logger="kyc.services.polling"):
        assert poll_due().faults == 1
        session = fresh(session)
        assert session.poll_next_at == session.polled_at + polling.FAULT_INTERVALS * INTERVAL
        assert poll_due(now=session.poll_next_at).faults == 1
    assert len(caplog.records) == 1 and "503 from the provider" in caplog.records[0].getMessage()
    assert poll_due(now=fresh(session).poll_next_at).not_ready == 1  # and polling goes on
    assert fresh(session).status == st.CREATED and not session.provider_error


def test_a_permanent_error_stops_polling_visibly(caplog):
    session = due()
    ANSWERS[session.provider_session_id] = [ProviderError("401 invalid credentials", permanent=True)]
    with caplog.at_level(logging.ERROR, logger="kyc.services.polling"):
        assert poll_due().stopped == 1
    assert "401 invalid credentials" in caplog.text
    session = fresh(session)
    assert session.poll_next_at is None and session.status == st.CREATED
    event = AuditEvent.objects.get(session=session, action="session.polling_stopped")
    assert event.after == {"why": "401 invalid credentials"} and event.actor_label == "system:poller"
    assert poll_due(now=timezone.now() + dt.timedelta(days=1)).claimed == 0


def test_a_decision_is_applied_and_ends_polling():
    session = due()
    ANSWERS[session.provider_session_id] = [fakes.approval(session.provider_session_id)]
    assert poll_due().applied == 1
    session = fresh(session)
    assert session.status == st.APPROVED and session.poll_next_at is None
    assert session.decisions.count() == 1


def test_a_session_decided_otherwise_is_taken_off_the_schedule_unfetched():
    session = due(status=st.APPROVED)
    report = poll_due()
    assert (report.claimed, report.dropped) == (0, 1) and not FETCHES
    assert fresh(session).poll_next_at is None


def test_a_fetch_that_could_not_start_in_time_is_left_to_the_next_claim():
    session = due(poll_next_at=timezone.now() - 2 * LEASE)
    # Claimed most of a lease ago: the poller was held up past the first half of its lease.
    batch = polling.sessions_poll_claim(now=timezone.now() - LEASE * 0.6)
    report = polling.sessions_poll_fetch(batch)
    assert (report.skipped, report.fetched) == (1, 0) and not FETCHES
    assert fresh(session).poll_next_at == batch.lease_until  # due again when the lease ends


def test_a_session_stopped_during_its_fetch_stays_stopped():
    session = due()
    batch = polling.sessions_poll_claim()
    poll_schedule.session_poll_stop(session_id=session.pk)
    assert polling.sessions_poll_fetch(batch).not_ready == 1
    assert fresh(session).poll_next_at is None


def test_a_hint_never_makes_a_fetch_within_the_interval_of_the_last_one():
    session = due()
    poll_due()
    session = fresh(session)
    last_start = session.polled_at
    # A hint now: due one interval after the last fetch was answered, not now.
    assert poll_schedule.session_poll_soon(session_id=session.pk, provider="scripted")
    assert fresh(session).poll_next_at == last_start + INTERVAL
    assert poll_due().claimed == 0


def test_a_hint_during_a_fetch_in_flight_does_not_bring_the_next_one_forward():
    session = due()
    batch = polling.sessions_poll_claim()
    assert poll_schedule.session_poll_soon(session_id=session.pk, provider="scripted")
    assert fresh(session).poll_next_at == batch.lease_until
    polling.sessions_poll_fetch(batch)
    session = fresh(session)
    assert session.poll_next_at == session.polled_at + INTERVAL


def test_a_hint_for_a_session_not_fetched_lately_makes_it_due_now():
    session = due(poll_next_at=timezone.now() + dt.timedelta(seconds=30), polled_at=None)
    assert poll_schedule.session_poll_soon(session_id=session.pk, provider="scripted")
    assert fresh(session).poll_next_at <= timezone.now()
    assert poll_due().fetched == 1
