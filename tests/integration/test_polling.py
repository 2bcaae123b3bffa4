"""Two pollers at once on PostgreSQL (two Celery ticks, or two machines): the claim's row locks with
SKIP LOCKED give each a different set of due sessions, so that no session is fetched twice (a
second fetch within ShareID's 5 s would be answered "too many calls")."""

import datetime as dt
import os
import threading

import pytest
from django.db import connection
from django.utils import timezone

from kyc.models import VerificationSession
from kyc.operations.polling import poll_due
from providers.base import ProviderError
from tests.factories import CustomerFactory
from tests.kyc import polling_fakes
from tests.kyc.polling_fakes import FETCHES
from tests.providers import fakes

pytestmark = pytest.mark.django_db(transaction=True)

SESSIONS = 300


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        if os.environ.get("CI") == "true":
            pytest.fail("needs PostgreSQL (DATABASE_URL)")
        pytest.skip("needs PostgreSQL: make test-integration IT_DATABASE_URL=postgres://…")


@pytest.fixture(autouse=True)
def _only_these_pollers(live_stack):
    """The live stack's poller (tests/support/servers.py) would claim these sessions too."""
    with live_stack.poller_paused():
        yield


@pytest.fixture(autouse=True)
def _scripted(settings):
    fakes.use_providers(settings, polling_fakes.PROVIDERS)
    polling_fakes.reset()
    yield
    polling_fakes.reset()


def due_sessions(count: int) -> list[VerificationSession]:
    customer = CustomerFactory()
    now = timezone.now()
    return VerificationSession.objects.bulk_create(
        VerificationSession(
            customer=customer,
            provider="scripted",
            provider_session_id=f"ap-{i:05d}",
            provider_created_at=now,
            poll_next_at=now - dt.timedelta(seconds=1),
        )
        for i in range(count)
    )


def test_two_pollers_at_once_never_fetch_one_session_twice():
    due_sessions(SESSIONS)
    polling_fakes.DELAY["seconds"] = 0.005  # fetches overlap the other poller's claims
    barrier = threading.Barrier(2)
    claimed: dict[str, int] = {}
    errors: list[BaseException] = []

    def poller(name: str) -> None:
        try:
            barrier.wait(10)
            total = 0
            while True:
                report = poll_due(limit=25)
                total += report.claimed
                if report.claimed == 0:
                    break
            claimed[name] = total
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=poller, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert sum(claimed.values()) == SESSIONS
    assert claimed["a"] > 0 and claimed["b"] > 0  # both took part
    assert len(FETCHES) == SESSIONS
    assert {psid for psid, starts in FETCHES.items() if len(starts) != 1} == set()
    # Every one recorded as not ready, due one interval after its own fetch.
    assert not VerificationSession.objects.filter(polled_at=None).exists()
    assert not VerificationSession.objects.filter(
        poll_next_at__gt=timezone.now() + dt.timedelta(seconds=6)
    ).exists()


def test_a_batch_whose_sessions_all_stop_polling_is_recorded():
    """Every session of the batch taken off the schedule (decided, or a permanent error): the batch's
    UPDATE writes only NULLs as the next fetch, which PostgreSQL must still read as timestamps (the
    poller process died on it, once per decision)."""
    sessions = due_sessions(2)
    for session in sessions:
        polling_fakes.ANSWERS[session.provider_session_id].append(
            ProviderError("refused for good", permanent=True)
        )
    report = poll_due()
    assert (report.claimed, report.stopped) == (2, 2)
    rows = VerificationSession.objects.filter(pk__in=[s.pk for s in sessions])
    assert list(rows.values_list("poll_next_at", flat=True)) == [None, None]
    assert not rows.filter(polled_at=None).exists()
