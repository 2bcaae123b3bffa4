"""Fault injection (control/faults): the provider API answers 500, hangs or streams slowly, for
outage tests; the control endpoints and the hosted page are never affected."""

import time

import pytest
from django.utils import timezone

from providers.veriff.sandbox.models import SandboxFault

pytestmark = pytest.mark.django_db

FAULTS = "/faults"


def set_fault(control, **data):
    response = control.post(FAULTS, data)
    assert response.status_code == 200, response.content
    return response.json()["fault"]


def test_without_a_fault_the_api_answers_normally(api, control):
    assert control.client.get("/sandbox/veriff/control/faults").json()["fault"] == {"mode": "none"}
    session = api.create_session()
    assert api.get(f"/sessions/{session['id']}/decision", session["id"]).status_code == 200


def test_error_mode_answers_500_on_every_api_call_and_counts_the_hits(api, control):
    session = api.create_session()
    set_fault(control, mode="error")
    for _ in range(2):
        response = api.get(f"/sessions/{session['id']}/decision", session["id"])
        assert response.status_code == 500
        assert response.json()["status"] == "fail"
    assert api.post("/sessions", {"verification": {}}, signed=False).status_code == 500
    fault = control.client.get("/sandbox/veriff/control/faults").json()["fault"]
    assert (fault["mode"], fault["hits"]) == ("error", 3)


def test_the_control_endpoints_keep_working_during_an_outage(api, control):
    session = api.create_session()
    set_fault(control, mode="error")
    assert control.decide(session["id"], status="approved").status_code == 200
    assert control.log(session["id"])  # the decision webhook was logged


def test_clearing_the_fault_ends_the_outage(api, control):
    session = api.create_session()
    set_fault(control, mode="error")
    assert set_fault(control, mode="none") == {"mode": "none"}
    assert api.get(f"/sessions/{session['id']}/decision", session["id"]).status_code == 200


def test_an_outage_with_a_duration_ends_by_itself(api, control):
    session = api.create_session()
    set_fault(control, mode="error", duration=30)
    assert api.get(f"/sessions/{session['id']}/decision", session["id"]).status_code == 500
    SandboxFault.objects.update(until=timezone.now())  # thirty seconds later
    assert api.get(f"/sessions/{session['id']}/decision", session["id"]).status_code == 200


def test_match_limits_the_fault_to_matching_paths(api, control):
    session = api.create_session()
    set_fault(control, mode="error", match="/attempts")
    assert api.get(f"/sessions/{session['id']}/attempts", session["id"]).status_code == 500
    assert api.get(f"/sessions/{session['id']}/decision", session["id"]).status_code == 200


def test_timeout_mode_hangs_then_answers(api, control):
    session = api.create_session()
    set_fault(control, mode="timeout", seconds=0.3)
    started = time.monotonic()
    response = api.get(f"/sessions/{session['id']}/decision", session["id"])
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


@pytest.mark.django_db(transaction=True)
def test_slow_mode_pauses_between_media_chunks_and_the_bytes_are_unchanged(api, control, webhooks):
    session = api.create_session()
    control.decide(session["id"], status="approved")
    listing = api.get(f"/sessions/{session['id']}/media", session["id"]).json()
    video = listing["videos"][0]
    fast = b"".join(api.get_url(video["url"], video["id"]).streaming_content)
    set_fault(control, mode="slow", seconds=0.02, match="/media/")
    started = time.monotonic()
    slow = b"".join(api.get_url(video["url"], video["id"]).streaming_content)
    chunks = -(-len(fast) // 1024)
    assert chunks >= 2
    assert slow == fast
    assert time.monotonic() - started >= 0.02 * (chunks - 1)


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "explode"},
        {"mode": "timeout"},
        {"mode": "error", "seconds": -1},
        {"mode": "error", "duration": "soon"},
        {"mode": "error", "match": 5},
        ["error"],
    ],
)
def test_a_bad_fault_request_gets_a_clear_400_and_changes_nothing(control, body):
    response = control.post(FAULTS, body)
    assert response.status_code == 400
    assert response.json()["message"]
    assert not SandboxFault.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_drop_webhooks_loses_them_logged_as_undelivered_and_never_sent(api, control, webhooks):
    session = api.create_session()
    set_fault(control, mode="drop_webhooks")
    control.decide(session["id"], status="approved")
    assert webhooks.requests == []  # nothing reached the app
    log = control.log(session["id"])
    assert log and all(d["deliveredAt"] is None and "dropped" in d["lastError"] for d in log)
    set_fault(control, mode="none")
    assert control.redeliver(log[-1]["id"]).status_code == 200  # a redelivery does go out
    assert webhooks.codes() == [9001]
