"""The control endpoints (a contract other tools rely on) and fault injection."""

import json
import time

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribed(solaris, receiver):
    for event_type in ("IDENTIFICATION", "PERSON_CHANGED", "PERSON_DELETED"):
        solaris.subscribe(event_type)
    return receiver


def test_outcome_needs_a_known_status_and_identification(solaris):
    identification = solaris.requested_identification()

    assert solaris.outcome(identification["id"], "approved").status_code == 400
    assert solaris.control("POST", f"/identifications/{identification['id']}/outcome", [1]).status_code == 400
    assert solaris.outcome("0" * 32 + "cidt", "successful").status_code == 404


def test_person_changed_sends_an_empty_body_naming_the_person(solaris, subscribed):
    person = solaris.create_person()

    response = solaris.control(
        "POST", f"/persons/{person['id']}/changed", {"screening_progress": "POTENTIAL_MATCH"}
    )

    assert response.status_code == 200
    assert response.json()["person"]["screening_progress"] == "POTENTIAL_MATCH"
    assert solaris.get(f"/persons/{person['id']}").json()["screening_progress"] == "POTENTIAL_MATCH"
    (notification,) = subscribed.notifications()
    assert notification.headers["Solaris-Webhook-Event-Type"] == "PERSON_CHANGED"
    assert notification.headers["Solaris-Entity-Id"] == person["id"]
    assert notification.body == b"{}"


def test_person_changed_refuses_an_unknown_screening_value(solaris, subscribed):
    person = solaris.create_person()

    response = solaris.control("POST", f"/persons/{person['id']}/changed", {"screening_progress": "MAYBE"})

    assert response.status_code == 400
    assert subscribed.notifications() == []


def test_person_deleted_erases_the_person_and_announces_it(solaris, subscribed):
    identification = solaris.requested_identification()
    solaris.outcome(identification["id"], "successful")
    person_id = identification["person_id"]
    document = solaris.get(f"/persons/{person_id}/documents").json()[0]

    response = solaris.control("POST", f"/persons/{person_id}/deleted")

    assert response.status_code == 200
    deleted = [
        r for r in subscribed.notifications() if r.headers["Solaris-Webhook-Event-Type"] == "PERSON_DELETED"
    ]
    assert len(deleted) == 1
    assert deleted[0].headers["Solaris-Entity-Id"] == person_id
    assert deleted[0].body == b"{}"
    assert solaris.get(f"/persons/{person_id}").status_code == 404
    assert solaris.get(f"/persons/{person_id}/documents/{document['id']}/file").status_code == 404
    assert solaris.control("POST", f"/persons/{person_id}/deleted").status_code == 404
    assert solaris.control("POST", f"/persons/{person_id}/changed").status_code == 404


def test_unknown_persons_are_404(solaris):
    assert solaris.control("POST", "/persons/nope/changed").status_code == 404
    assert solaris.control("POST", "/persons/nope/deleted").status_code == 404


def test_the_deliveries_list_every_notification_with_its_answers(solaris, subscribed):
    identification = solaris.requested_identification()
    subscribed.answer(503)
    solaris.outcome(identification["id"], "aborted")

    rows = solaris.deliveries(event_type="IDENTIFICATION")

    assert [json.loads(r["body"])["status"] for r in rows] == ["created", "pending", "aborted"]
    assert [r["state"] for r in rows] == ["delivered", "delivered", "pending"]
    assert rows[-1]["answers"][0]["status_code"] == 503
    assert rows[-1]["entity_id"] == identification["id"]
    assert rows[-1]["signature"].startswith("sha256=")
    assert solaris.deliveries(entity_id=identification["id"], state="pending") == [rows[-1]]


# --- faults ------------------------------------------------------------------------------------


def set_fault(solaris, **fault):
    response = solaris.control("POST", "/faults", fault)
    assert response.status_code == 200, response.content
    return response.json()["fault"]


def test_an_error_fault_answers_500_with_an_errors_body_until_cleared(solaris):
    solaris.bearer()
    set_fault(solaris, mode="error", match="/v1/persons")

    response = solaris.post("/persons", {"first_name": "A", "last_name": "B"})

    assert response.status_code == 500
    assert response.json()["errors"][0]["status"] == "500"
    assert solaris.get("/webhooks").status_code == 200  # not matched
    assert solaris.client.get(solaris.prefix + "/control/faults").json()["fault"]["hits"] == 1
    set_fault(solaris, mode="none")
    assert solaris.post("/persons", {"first_name": "A", "last_name": "B"}).status_code == 201


def test_an_error_fault_also_hits_the_token_endpoint_and_is_counted(solaris):
    set_fault(solaris, mode="error")

    assert solaris.fetch_token().status_code == 500
    assert solaris.client.get(solaris.prefix + "/control/tokens").json()["requests"] == 1


def test_a_slow_token_endpoint_hangs_then_answers(solaris):
    solaris.bearer()
    set_fault(solaris, mode="slow_token", seconds=0.3)

    started = time.monotonic()
    api_call = solaris.get("/webhooks")
    api_seconds = time.monotonic() - started
    started = time.monotonic()
    token = solaris.fetch_token()
    token_seconds = time.monotonic() - started

    assert api_call.status_code == 200 and api_seconds < 0.3
    assert token.status_code == 200 and token_seconds >= 0.3


def test_a_timeout_fault_hangs_the_api(solaris):
    solaris.bearer()
    set_fault(solaris, mode="timeout", seconds=0.3, match="/v1/")

    started = time.monotonic()
    response = solaris.get("/webhooks")

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_a_fault_ends_by_itself_after_its_duration(solaris):
    solaris.bearer()
    set_fault(solaris, mode="error", duration=0.2)
    assert solaris.get("/webhooks").status_code == 500

    time.sleep(0.25)

    assert solaris.get("/webhooks").status_code == 200


def test_dropped_notifications_are_logged_but_never_sent(solaris, subscribed):
    person = solaris.create_person()
    set_fault(solaris, mode="drop_webhooks")

    solaris.control("POST", f"/persons/{person['id']}/changed")

    assert subscribed.notifications() == []
    (row,) = solaris.deliveries(event_type="PERSON_CHANGED")
    assert row["state"] == "dropped"


@pytest.mark.parametrize(
    "fault",
    [{"mode": "melt"}, {"mode": "timeout"}, {"mode": "error", "seconds": -1}, {"mode": "error", "match": 3}],
)
def test_a_bad_fault_is_refused(solaris, fault):
    assert solaris.control("POST", "/faults", fault).status_code == 400
