"""Reconciliation against the Veriff sandbox on a real socket (the `make run` configuration:
tasks in-process). A webhook is "missed" by pointing the sandbox's deliveries at a closed port."""

import datetime as dt
import json
import os
import socket
import time

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from kyc.media import TEMP_PREFIX, TEMP_SUFFIX, _temp_dir
from kyc.models import Media, ProviderDecision, VerificationSession
from kyc.operations.reconcile import reconcile
from kyc.services import customers
from kyc.services import sessions as kyc_sessions
from tests.providers_config import with_options
from webhooks.models import InboundEvent

pytestmark = pytest.mark.django_db(transaction=True)

WEEK = dt.timedelta(days=7, hours=1)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def app(live_server, settings):
    settings.KYC_PUBLIC_URL = live_server.url
    with_options(settings, "veriff", api_url=f"{live_server.url}/sandbox/veriff/v1")
    settings.KYC_RECONCILE_QUIET_AFTER = 60
    settings.KYC_RECONCILE_STUCK_AFTER = 60
    return live_server.url


@pytest.fixture
def deaf_app(app, settings):
    """The sandbox delivers its webhooks to a closed port from now on: every one is missed."""
    settings.KYC_PUBLIC_URL = closed_port_url()
    return app


def started_session(ref="REC-1") -> VerificationSession:
    customer = customers.customer_create(external_ref=ref, first_name="Ada", last_name="Lovelace")
    session = kyc_sessions.verification_start(customer=customer, actor_label="test")
    session.refresh_from_db()
    assert session.provider_session_id  # created at the sandbox, in-process
    return session


def control(app, path, data=None):
    response = requests.post(f"{app}/sandbox/veriff/control{path}", json=data or {}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def go_quiet(session, age=dt.timedelta(minutes=5)):
    VerificationSession.objects.filter(pk=session.pk).update(status_changed_at=timezone.now() - age)


def test_a_decision_whose_webhook_was_missed_is_applied_by_reconciliation(deaf_app):
    session = started_session()
    control(deaf_app, f"/sessions/{session.provider_session_id}/decision", {"status": "approved"})
    session.refresh_from_db()
    assert session.status == "created"  # the app heard nothing
    go_quiet(session)

    report = reconcile()

    session.refresh_from_db()
    assert (report.polled, report.applied) == (1, 1)
    assert session.status == "approved" and session.customer.kyc_status == "verified"
    assert session.decisions.get().code == 9001
    # Applied through the same path as the webhook: the media followed, and it is audited.
    assert session.media.filter(state=Media.State.STORED).count() >= 3
    assert session.audit_events.filter(action="session.provider_decision").count() == 1


def test_the_missed_webhook_arriving_late_is_a_duplicate_and_changes_nothing(deaf_app, client):
    session = started_session()
    control(deaf_app, f"/sessions/{session.provider_session_id}/decision", {"status": "declined"})
    go_quiet(session)
    reconcile()
    [delivery] = [
        d
        for d in requests.get(f"{deaf_app}/sandbox/veriff/control/webhooks", timeout=30).json()["deliveries"]
        if d["kind"] == "decision"
    ]
    response = client.post(
        "/webhooks/veriff/decision/",
        data=delivery["body"].encode(),
        content_type="application/json",
        headers={k: v for k, v in delivery["headers"].items() if k != "Content-Type"},
    )
    assert response.status_code == 200
    assert ProviderDecision.objects.filter(session=session).count() == 1
    assert InboundEvent.objects.get(kind="decision").state == InboundEvent.State.PROCESSED


def test_a_session_without_a_decision_is_left_open_and_not_asked_again_at_once(app):
    session = started_session()
    go_quiet(session)
    assert reconcile().polled == 1
    session.refresh_from_db()
    assert session.status == "created" and session.reconciled_at
    assert reconcile().polled == 0  # asked a moment ago


def test_a_session_with_news_is_not_polled(app):
    session = started_session()
    assert reconcile().polled == 0
    session.refresh_from_db()
    assert session.reconciled_at is None


def test_a_session_past_the_provider_lifetime_that_never_started_is_closed_as_expired(app):
    session = started_session()
    VerificationSession.objects.filter(pk=session.pk).update(provider_created_at=timezone.now() - WEEK)
    go_quiet(session)
    assert reconcile().closed == 1
    session.refresh_from_db()
    assert session.status == "expired"
    assert session.audit_events.filter(
        action="session.status_changed", actor_label="system:reconcile"
    ).exists()


def test_a_session_past_the_provider_lifetime_that_started_is_closed_as_abandoned(app, client):
    session = started_session()
    requests.get(session.hosted_url, timeout=30)  # the user opened the hosted page: 7001
    session.refresh_from_db()
    assert session.status == "started"
    VerificationSession.objects.filter(pk=session.pk).update(provider_created_at=timezone.now() - WEEK)
    go_quiet(session)
    reconcile()
    session.refresh_from_db()
    assert session.status == "abandoned"


def test_during_a_provider_outage_nothing_is_closed_and_the_next_run_asks_again(app, settings):
    session = started_session()
    VerificationSession.objects.filter(pk=session.pk).update(provider_created_at=timezone.now() - WEEK)
    go_quiet(session)
    control(app, "/faults", {"mode": "error"})
    report = reconcile()
    assert (report.poll_errors, report.closed) == (1, 0)
    session.refresh_from_db()
    assert session.status == "created"


def test_an_inbound_event_whose_task_was_lost_is_processed(app, client, settings):
    session = started_session()
    body = json.dumps(
        {"id": session.provider_session_id, "attemptId": "a-1", "code": 7001, "action": "started"}
    )
    event = InboundEvent.objects.create(
        provider="veriff",
        kind="events",
        body=body.encode(),
        authenticated=True,
        dedupe_key="lost-1",
        provider_session_id=session.provider_session_id,
    )
    InboundEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - dt.timedelta(minutes=5))
    assert reconcile().requeued["inbound_event"] == 1
    event.refresh_from_db()
    session.refresh_from_db()
    assert event.state == InboundEvent.State.PROCESSED and event.attempts == 1
    assert session.status == "started"


def test_a_download_that_stopped_is_queued_again_but_parked_work_is_left_to_a_human(deaf_app):
    session = started_session()
    control(deaf_app, f"/sessions/{session.provider_session_id}/decision", {"status": "approved"})
    go_quiet(session)
    control(deaf_app, "/faults", {"mode": "error", "match": "/media/"})
    reconcile()  # applies the decision; the downloads fail (in-process: recorded, not retried)
    pending = list(session.media.filter(state=Media.State.PENDING))
    assert len(pending) >= 3
    parked = pending[0]
    Media.objects.filter(pk=parked.pk).update(parked_at=timezone.now(), state=Media.State.FAILED)
    long_ago = timezone.now() - dt.timedelta(minutes=5)
    Media.objects.filter(session=session).update(last_attempt_at=long_ago)
    control(deaf_app, "/faults", {"mode": "none"})

    report = reconcile()

    assert report.requeued["media_download"] == len(pending) - 1
    assert session.media.filter(state=Media.State.STORED).count() == len(pending) - 1
    parked.refresh_from_db()
    assert parked.state == Media.State.FAILED and not parked.file


def test_a_decided_session_whose_media_was_never_listed_is_listed(deaf_app):
    session = started_session()
    control(deaf_app, f"/sessions/{session.provider_session_id}/decision", {"status": "approved"})
    control(deaf_app, "/faults", {"mode": "error", "match": "/attempts"})
    go_quiet(session)
    reconcile()  # decision applied, the listing failed
    session.refresh_from_db()
    assert session.status == "approved" and session.media_listed_at is None
    control(deaf_app, "/faults", {"mode": "none"})
    VerificationSession.objects.filter(pk=session.pk).update(
        decided_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert reconcile().requeued["media_listing"] == 1
    assert session.media.filter(state=Media.State.STORED).count() >= 3


def test_partial_downloads_left_by_a_killed_worker_are_removed_but_not_live_ones(app):
    directory = _temp_dir()
    old, live = (os.path.join(directory, f"{TEMP_PREFIX}{n}{TEMP_SUFFIX}") for n in ("old", "live"))
    for path in (old, live):
        with open(path, "wb") as f:
            f.write(b"half a passport")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert reconcile().temp_files_removed == 1
    assert not os.path.exists(old) and os.path.exists(live)


def test_the_command_runs_the_same_and_reports(deaf_app, capsys):
    session = started_session()
    control(deaf_app, f"/sessions/{session.provider_session_id}/decision", {"status": "approved"})
    go_quiet(session)
    call_command("reconcile", "--json")
    report = json.loads(capsys.readouterr().out)
    assert (report["polled"], report["applied"]) == (1, 1)
    session.refresh_from_db()
    assert session.status == "approved"
