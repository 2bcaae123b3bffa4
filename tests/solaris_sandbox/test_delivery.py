"""The delivery worker's answers table: 2xx done, 410 cancels the subscription, 422 drops, anything
else retried with a growing interval, 20 retries within 7 days (scaled by SIM_TIME_SCALE)."""

import datetime as dt
import itertools

import pytest
import requests

from providers.solaris.sandbox import delivery
from providers.solaris.sandbox.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def changed(solaris, receiver):
    """Subscribe to PERSON_CHANGED, and a function that sends one and returns its log row."""
    subscription = solaris.subscribe("PERSON_CHANGED")
    person = solaris.create_person()

    def send() -> dict:
        assert solaris.control("POST", f"/persons/{person['id']}/changed").status_code == 200
        return solaris.deliveries(entity_id=person["id"])[-1]

    send.subscription = subscription
    return send


def send_due_all(solaris) -> list[dict]:
    return solaris.control("POST", "/deliveries/send-due", {"all": True}).json()["deliveries"]


def test_a_2xx_is_delivered_once(solaris, receiver, changed):
    receiver.answer(204)

    row = changed()

    assert row["state"] == "delivered"
    assert [a["status_code"] for a in row["answers"]] == [204]
    assert send_due_all(solaris) == []
    assert len(receiver.notifications()) == 1


def test_a_422_is_dropped_and_never_sent_again(solaris, receiver, changed):
    receiver.answer(422)

    row = changed()

    assert row["state"] == "rejected"
    assert row["next_attempt_at"] is None
    send_due_all(solaris)
    assert len(receiver.notifications()) == 1
    # The subscription lives on: the next notification is sent.
    receiver.answer(200)
    assert changed()["state"] == "delivered"


def test_a_410_cancels_the_subscription_and_what_it_still_had_to_send(solaris, receiver, changed):
    receiver.answer(500)
    waiting = changed()
    receiver.answer(410)
    gone = changed()

    assert gone["state"] == "gone"
    assert solaris.get("/webhooks").json() == []
    assert solaris.deliveries(state="cancelled")[0]["id"] == waiting["id"]
    receiver.answer(200)
    changed()
    send_due_all(solaris)
    assert len(receiver.notifications()) == 2  # the 500 and the 410, nothing after


@pytest.mark.parametrize(
    "answer", [500, 503, 404, 301, requests.ConnectionError("refused"), requests.Timeout("slow")]
)
def test_anything_else_is_retried_with_the_attempt_counted(solaris, receiver, changed, answer):
    if isinstance(answer, Exception):
        receiver.answer(error=answer)
    else:
        receiver.answer(answer)

    row = changed()

    assert row["state"] == "pending"
    assert row["attempts"] == 1
    receiver.answer(200)
    (retried,) = send_due_all(solaris)
    assert retried["state"] == "delivered"
    first, second = receiver.notifications()
    assert (first.headers["Solaris-Webhook-Attempt"], second.headers["Solaris-Webhook-Attempt"]) == ("1", "2")
    # The same notification, byte for byte: same id, body and signature.
    for name in ("Solaris-Webhook-Id", "Solaris-Webhook-Signature"):
        assert first.headers[name] == second.headers[name]
    assert first.body == second.body


def test_a_redirect_is_retried_not_followed(solaris, receiver, changed):
    receiver.mock.upsert(
        "POST", receiver.url, status=302, headers={"Location": "http://127.0.0.1:8000/elsewhere"}
    )

    row = changed()

    assert row["state"] == "pending"
    assert [r.url for r in receiver.requests][-1] == receiver.url


def test_a_retry_waits_until_it_is_due(solaris, receiver, changed):
    receiver.answer(500)
    changed()

    assert solaris.control("POST", "/deliveries/send-due", {}).json()["deliveries"] == []
    assert len(receiver.notifications()) == 1


def waits(row: dict) -> dt.timedelta:
    return dt.datetime.fromisoformat(row["next_attempt_at"]) - dt.datetime.fromisoformat(
        row["answers"][-1]["at"]
    )


def test_the_interval_grows_and_twenty_retries_fit_in_seven_days(solaris, receiver, changed):
    receiver.answer(500)
    row = changed()
    intervals = [waits(row)]
    while True:
        (row,) = send_due_all(solaris)
        if row["state"] != "pending":
            break
        intervals.append(waits(row))

    assert row["state"] == "expired"
    assert row["attempts"] == 21  # the first attempt and 20 retries
    assert [a["attempt"] for a in row["answers"]] == list(range(1, 22))
    assert [r.headers["Solaris-Webhook-Attempt"] for r in receiver.notifications()] == [
        str(n) for n in range(1, 22)
    ]
    assert len(intervals) == 20
    assert intervals[0] == pytest.approx(dt.timedelta(seconds=30), abs=dt.timedelta(seconds=1))
    assert all(later >= earlier for earlier, later in itertools.pairwise(intervals))
    assert intervals[-1] > intervals[0] * 100
    assert sum(intervals, dt.timedelta()) <= dt.timedelta(days=7)


def test_the_schedule_is_scaled_by_the_sandbox_clock(solaris, receiver, changed, settings):
    settings.SIM_TIME_SCALE = 0.01
    receiver.answer(500)

    row = changed()

    assert waits(row) == pytest.approx(dt.timedelta(seconds=0.3), abs=dt.timedelta(seconds=0.05))


def test_retries_stop_when_the_window_is_over(solaris, receiver, changed):
    receiver.answer(500)
    row = changed()
    # A notification that has been failing for almost 7 days: the next wait would pass the window.
    Delivery.objects.filter(id=row["id"]).update(
        created_at=Delivery.objects.get(id=row["id"]).created_at - dt.timedelta(days=7)
    )

    (row,) = send_due_all(solaris)

    assert row["state"] == "expired"
    assert row["attempts"] == 2


def test_an_attempt_answers_the_wait_before_the_next(solaris, receiver, changed):
    """With a broker the task hands this wait to Celery's retry (tasks.deliver_notification)."""
    receiver.answer(500)
    row = changed()

    countdown = delivery.send(row["id"])

    assert countdown == pytest.approx(60, abs=1)  # after the second failure: 30 s doubled
