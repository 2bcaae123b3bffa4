"""What runs the poller and what it closes: the Celery beat tick, `manage.py poll_sessions`,
sessions past their lifetime, and reconciliation's part for polled providers."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from config.celery import app as celery_app
from kyc import beat
from kyc import status as st
from kyc.models import VerificationSession
from kyc.operations.polling import poll_due, poll_tick
from kyc.operations.reconcile import reconcile
from tests.factories import SessionFactory
from tests.kyc import polling_fakes
from tests.kyc.polling_fakes import ANSWERS, FETCHES
from tests.providers import fakes

pytestmark = pytest.mark.django_db

LIFETIME = dt.timedelta(days=7)  # the fake's Provider.session_lifetime


@pytest.fixture(autouse=True)
def _scripted(settings):
    fakes.use_providers(settings, polling_fakes.PROVIDERS)
    settings.KYC_POLL_LIFETIME_GRACE = 600
    polling_fakes.reset()
    yield
    polling_fakes.reset()


def due(age=dt.timedelta(0), **fields) -> VerificationSession:
    defaults = {
        "provider_created_at": timezone.now() - age,
        "poll_next_at": timezone.now() - dt.timedelta(seconds=1),
    }
    return SessionFactory(provider="scripted", **(defaults | fields))


def fresh(session) -> VerificationSession:
    session.refresh_from_db()
    return session


def test_the_beat_ticks_every_second_and_drops_a_tick_not_taken_in_time():
    entry = django_settings.CELERY_BEAT_SCHEDULE["poll-due"]
    assert entry["task"] == beat.poll_due.name == "kyc.tasks.poll_due" and entry["task"] in celery_app.tasks
    assert entry["schedule"] == 1.0 and entry["options"]["expires"] == entry["schedule"]


def test_the_beat_task_polls_what_is_due():
    session = due()
    beat.poll_due.apply()
    assert list(FETCHES) == [session.provider_session_id]


def test_a_tick_takes_batch_after_batch_until_nothing_is_due():
    batch = [due() for _ in range(5)]
    report = poll_tick(limit=2)
    assert report.claimed == 5 and sorted(FETCHES) == sorted(s.provider_session_id for s in batch)


def test_a_tick_ends_when_its_time_is_spent_even_with_sessions_still_due():
    for _ in range(5):
        due()
    assert poll_tick(limit=2, budget=0).claimed == 2  # one batch, then the budget says stop
    assert VerificationSession.objects.filter(poll_next_at__lte=timezone.now()).count() == 3


def test_the_command_runs_the_ticks_it_is_asked_for():
    session = due()
    out = StringIO()
    call_command("poll_sessions", "--ticks", "3", "--tick", "0", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["ticks"] == 3
    # Fetched on the first tick; the next two find it not due (one interval later).
    assert (report["claimed"], report["not_ready"]) == (1, 1)
    assert len(FETCHES[session.provider_session_id]) == 1
    out = StringIO()
    call_command("poll_sessions", "--once", stdout=out)
    assert out.getvalue().startswith("ticks 1, claimed 0")


def test_the_command_outlives_a_database_outage(monkeypatch):
    from django.db import OperationalError

    from kyc.management.commands import poll_sessions

    session = due()
    calls = []

    def tick_or_outage():
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return poll_tick()

    monkeypatch.setattr(poll_sessions, "poll_tick", tick_or_outage)
    out = StringIO()
    call_command("poll_sessions", "--ticks", "2", "--tick", "0", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["ticks"] == 2 and report["claimed"] == 1
    assert len(FETCHES[session.provider_session_id]) == 1


def test_the_command_refuses_a_negative_tick_count():
    with pytest.raises(Exception, match="--ticks"):
        call_command("poll_sessions", "--ticks", "-1")


def test_a_session_past_its_lifetime_and_grace_is_closed_unfetched():
    never_started = due(age=LIFETIME + dt.timedelta(minutes=11))
    started = due(age=LIFETIME + dt.timedelta(minutes=11), status=st.STARTED, started_at=timezone.now())
    report = poll_due()
    assert (report.claimed, report.closed) == (0, 2) and not FETCHES
    assert fresh(never_started).status == st.EXPIRED and fresh(started).status == st.ABANDONED
    assert fresh(never_started).poll_next_at is None


def test_a_session_in_its_grace_is_still_polled_and_its_late_result_applied():
    session = due(age=LIFETIME + dt.timedelta(minutes=9))
    ANSWERS[session.provider_session_id] = [fakes.approval(session.provider_session_id)]
    assert poll_due().applied == 1
    assert fresh(session).status == st.APPROVED


def test_reconciliation_does_not_fetch_polled_sessions(settings):
    settings.KYC_RECONCILE_QUIET_AFTER = 0
    due(status_changed_at=timezone.now() - dt.timedelta(hours=1))
    report = reconcile()
    assert report.polled == 0 and not FETCHES


def test_reconciliation_puts_a_lost_session_back_on_the_schedule_but_not_a_stopped_one():
    lost = due(poll_next_at=None, polled_at=None)
    stopped = due(poll_next_at=None, polled_at=timezone.now() - dt.timedelta(hours=1))
    assert reconcile().requeued["polling"] == 1
    assert fresh(lost).poll_next_at <= timezone.now() and fresh(stopped).poll_next_at is None
    assert poll_due().fetched == 1


def test_reconciliation_closes_a_polled_session_off_the_schedule_past_its_lifetime():
    session = due(age=LIFETIME + dt.timedelta(minutes=11), poll_next_at=None, polled_at=timezone.now())
    inside = due(age=LIFETIME, poll_next_at=None, polled_at=timezone.now())
    assert reconcile().closed == 1
    assert fresh(session).status == st.EXPIRED and fresh(inside).status == st.CREATED
