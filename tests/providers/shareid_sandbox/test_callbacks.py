"""The callback: POSTed to the URL exactly as given when the result is ready, JSON, the result plus
customer_data (images only with document capture); only an exact 200 within 3000 ms succeeds;
retries at +5 min, +1 h, +24 h (scaled), then none; every attempt logged."""

import base64
import datetime as dt
import itertools
import json
import time

import pytest
import requests
from celery.exceptions import Retry

from providers.shareid.sandbox import callbacks
from providers.shareid.sandbox.models import Applicant, Callback
from providers.shareid.sandbox.tasks import send_callback

pytestmark = pytest.mark.django_db


def completed(shareid, reasons=None, **start_fields) -> str:
    applicant_id = shareid.start(**start_fields)["applicant_id"]
    assert shareid.complete(applicant_id, reasons or []).status_code == 200
    return applicant_id


def send_due(shareid, everything: bool = False) -> list[dict]:
    return shareid.control("POST", "/callbacks/send-due", {"all": everything}).json()["callbacks"]


def test_the_callback_carries_the_result_and_customer_data_as_json(shareid, receiver, clock):
    applicant_id = completed(shareid, ["no_face"])

    (delivered,) = receiver.requests
    clock.advance(5)
    fetched = shareid.fetch(applicant_id).json()

    assert delivered.method == "POST"
    assert delivered.url == shareid.callback_url
    assert delivered.headers["Content-Type"] == "application/json"
    body = json.loads(delivered.body)
    assert body == {**fetched, "customer_data": {"reference": "9b2f0c7e-ref"}}
    assert base64.b64decode(body["document"]["face_face"]).startswith(b"\x89PNG")


def test_without_document_capture_the_callback_has_no_images(shareid, receiver):
    completed(shareid, callback_with_document_capture=False)

    document = json.loads(receiver.requests[0].body)["document"]

    assert [document[k] for k in ("doc_front", "doc_back", "face_face", "face_doc")] == [None] * 4


def test_no_callback_url_no_callback(shareid, receiver):
    applicant_id = completed(shareid, callback=None)

    assert receiver.requests == []
    assert shareid.callbacks(applicant_id=applicant_id) == []


def test_the_url_reaches_the_wire_exactly_as_given(shareid, local_receiver):
    url = local_receiver.base + "/webhooks/shareid/?token=k%7Eq_3-Z&next=%2Fa%2Fb&x=1"
    completed(shareid, callback=url)

    (arrived,) = local_receiver.arrived

    assert arrived["path"] == "/webhooks/shareid/?token=k%7Eq_3-Z&next=%2Fa%2Fb&x=1"
    assert arrived["headers"]["Content-Type"] == "application/json"
    assert json.loads(arrived["body"])["customer_data"] == {"reference": "9b2f0c7e-ref"}


@pytest.mark.parametrize(
    "answer, logged_status",
    [(201, 201), (204, 204), (500, 500), (302, None), (requests.ConnectionError("refused"), None)],
)
def test_anything_but_an_exact_200_is_a_failure_retried_in_five_minutes(
    shareid, receiver, answer, logged_status
):
    if isinstance(answer, Exception):
        receiver.answer(error=answer)
    elif answer == 302:
        receiver.mock.upsert(
            "POST", receiver.url, status=302, headers={"Location": "http://127.0.0.1:8000/x"}
        )
        logged_status = 302
    else:
        receiver.answer(answer)

    applicant_id = completed(shareid)

    (attempt,) = shareid.callbacks(applicant_id=applicant_id)
    assert attempt["attempt"] == 1
    assert attempt["status_code"] == logged_status
    assert attempt["error"] != ""
    waited = dt.datetime.fromisoformat(attempt["next_attempt_at"]) - dt.datetime.fromisoformat(
        attempt["sent_at"]
    )
    assert dt.timedelta(minutes=5) <= waited < dt.timedelta(minutes=5, seconds=5)
    assert len(receiver.requests) == 1  # a redirect is not followed


def test_a_200_is_delivered_once(shareid, receiver):
    applicant_id = completed(shareid)

    (attempt,) = shareid.callbacks(applicant_id=applicant_id)

    assert (attempt["status_code"], attempt["error"], attempt["next_attempt_at"]) == (200, "", None)
    assert isinstance(attempt["duration_ms"], int)
    assert send_due(shareid, everything=True) == []


def intervals(attempts: list[dict]) -> list[dt.timedelta]:
    sent = [dt.datetime.fromisoformat(a["sent_at"]) for a in attempts]
    return [later - earlier for earlier, later in itertools.pairwise(sent)]


def test_retries_come_at_five_minutes_one_hour_and_a_day_then_never(shareid, receiver, clock):
    receiver.answer(500)
    applicant_id = completed(shareid)

    for wait in (5 * 60, 60 * 60, 24 * 60 * 60):
        clock.advance(wait - 1)
        assert send_due(shareid) == []  # not due yet
        clock.advance(1)
        assert len(send_due(shareid)) == 1
    clock.advance(10 * 24 * 3600)
    assert send_due(shareid, everything=True) == []

    attempts = shareid.callbacks(applicant_id=applicant_id)
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
    assert [round(i.total_seconds() / 60) for i in intervals(attempts)] == [5, 60, 24 * 60]
    assert attempts[-1]["next_attempt_at"] is None
    assert Callback.objects.get().state == Callback.State.FAILED
    assert len(receiver.requests) == 4


def test_the_schedule_is_scaled_by_the_sandbox_clock(shareid, receiver, settings):
    settings.SIM_TIME_SCALE = 0.01
    receiver.answer(503)
    applicant_id = completed(shareid)

    (attempt,) = shareid.callbacks(applicant_id=applicant_id)

    waited = dt.datetime.fromisoformat(attempt["next_attempt_at"]) - dt.datetime.fromisoformat(
        attempt["sent_at"]
    )
    assert dt.timedelta(seconds=3) <= waited < dt.timedelta(seconds=4)


def test_a_retry_that_succeeds_ends_the_retries(shareid, receiver, clock):
    receiver.answer(500)
    applicant_id = completed(shareid)
    receiver.answer(200)
    clock.advance(5 * 60)

    send_due(shareid)
    clock.advance(30 * 24 * 3600)

    assert send_due(shareid, everything=True) == []
    assert [a["status_code"] for a in shareid.callbacks(applicant_id=applicant_id)] == [500, 200]


def test_an_answer_slower_than_three_seconds_is_a_failure(shareid, local_receiver):
    local_receiver.delay = 6
    started = time.monotonic()
    applicant_id = completed(shareid, callback=local_receiver.base + "/cb?token=t")
    elapsed = time.monotonic() - started

    (attempt,) = shareid.callbacks(applicant_id=applicant_id)

    assert attempt["status_code"] is None
    assert "Timeout" in attempt["error"]
    assert 3000 <= attempt["duration_ms"] < 5000
    assert elapsed < 5  # it gave up at 3 s, not waiting for the answer at 6 s
    assert attempt["next_attempt_at"] is not None


def test_with_the_answer_ignored_a_callback_is_sent_once(shareid, receiver, clock):
    shareid.control("POST", "/faults", {"callback_answer_ignored": True})
    receiver.answer(500)
    applicant_id = completed(shareid)
    clock.advance(2 * 24 * 3600)

    assert send_due(shareid, everything=True) == []
    (attempt,) = shareid.callbacks(applicant_id=applicant_id)
    assert (attempt["status_code"], attempt["next_attempt_at"]) == (500, None)


def test_an_authenticate_callback_carries_the_flow_result(shareid, receiver):
    applicant_id = shareid.start(callback=None)["applicant_id"]
    flow_id = shareid.post(
        "/flow/authenticate/auth/business",
        {**shareid.credentials, "applicant_id": applicant_id, "callback": shareid.callback_url},
    ).json()["flow_id"]

    shareid.control("POST", f"/flows/{flow_id}/complete", {"reasons": []})

    assert json.loads(receiver.requests[0].body) == {
        "flow_id": flow_id,
        "applicant_id": applicant_id,
        "reasons": [],
        "customer_data": {"reference": "9b2f0c7e-ref"},
    }
    assert [a["flow_id"] for a in shareid.callbacks(flow_id=flow_id)] == [flow_id]


def test_the_log_lists_every_attempt_oldest_first_with_the_contracts_fields(shareid, receiver, clock):
    receiver.answer(500)
    first = completed(shareid)
    receiver.answer(200)
    second = completed(shareid)
    clock.advance(300)
    send_due(shareid)

    log = shareid.callbacks()

    assert [(a["applicant_id"], a["attempt"], a["status_code"]) for a in log] == [
        (first, 1, 500),
        (second, 1, 200),
        (first, 2, 200),
    ]
    assert {
        "id",
        "applicant_id",
        "url",
        "attempt",
        "status_code",
        "duration_ms",
        "error",
        "sent_at",
        "next_attempt_at",
    } <= set(log[0])
    assert [a["id"] for a in log] == sorted(a["id"] for a in log)


# --- with a broker ----------------------------------------------------------------------------------


def unscheduled_callback(shareid, receiver) -> Callback:
    """A ready result's callback that nobody has sent yet: a worker runs it below."""
    applicant_id = completed(shareid, callback=None)
    applicant = Applicant.objects.get(id=applicant_id)
    return callbacks.callback_record(applicant=applicant, flow=None, url=receiver.url, due=applicant.ready_at)


def test_a_worker_asks_celery_for_the_retry_with_its_countdown(shareid, receiver):
    receiver.answer(500)
    callback = unscheduled_callback(shareid, receiver)

    # Run as a worker runs it (not eager): a failure asks Celery for a retry, due in 5 minutes.
    with pytest.raises(Retry):
        send_callback(callback.id)

    callback.refresh_from_db()
    assert (callback.attempts, callback.state) == (1, Callback.State.PENDING)
    (attempt,) = callback.attempt_log.all()
    assert attempt.next_attempt_at - attempt.sent_at >= dt.timedelta(minutes=5)


def test_a_worker_gives_up_after_the_third_retry(shareid, receiver):
    receiver.answer(500)
    callback = unscheduled_callback(shareid, receiver)
    Callback.objects.filter(id=callback.id).update(attempts=3)

    send_callback.push_request(retries=3, is_eager=False)
    try:
        send_callback.run(callback.id)  # no Retry raised: nothing more to schedule
    finally:
        send_callback.pop_request()

    callback.refresh_from_db()
    assert (callback.attempts, callback.state) == (4, Callback.State.FAILED)


@pytest.fixture
def memory_broker():
    """A real broker in this process (kombu's memory transport): what the app queues is read back.
    The app's connection and producer pools are made afresh for it, and forgotten after."""
    app = send_callback.app
    saved = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = "memory://", False
    app._pool, app.amqp._producer_pool = None, None
    try:
        with app.connection_for_read() as connection:
            yield connection.SimpleQueue(app.conf.task_default_queue)
    finally:
        app.conf.broker_url, app.conf.task_always_eager = saved
        app._pool, app.amqp._producer_pool = None, None


def test_with_a_broker_the_callback_is_a_task_counted_down_to_the_result(shareid, memory_broker, settings):
    settings.SHAREID_SANDBOX_ANALYSIS_SECONDS = 40
    applicant_id = completed(shareid)

    message = memory_broker.get(timeout=2)

    assert message.headers["task"] == send_callback.name
    callback = Callback.objects.get(applicant_id=applicant_id)
    assert message.decode()[0] == [callback.id]
    eta = dt.datetime.fromisoformat(message.headers["eta"])
    assert abs(eta - callback.next_attempt_at) < dt.timedelta(seconds=2)
    assert shareid.callbacks() == []  # nothing sent yet: the worker sends it at its time


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_a_later_result_is_called_back_from_a_timer(shareid, local_receiver, settings):
    settings.SHAREID_SANDBOX_ANALYSIS_SECONDS = 0.5
    applicant_id = completed(shareid, callback=local_receiver.base + "/cb?token=t")
    assert local_receiver.arrived == []  # not before the result is ready

    deadline = time.monotonic() + 5
    while not local_receiver.arrived and time.monotonic() < deadline:
        time.sleep(0.05)
    # The attempt is logged once the answer is in.
    while not shareid.callbacks(applicant_id=applicant_id) and time.monotonic() < deadline:
        time.sleep(0.05)

    (arrived,) = local_receiver.arrived
    assert json.loads(arrived["body"])["applicant_id"] == applicant_id
    (attempt,) = shareid.callbacks(applicant_id=applicant_id)
    ready_at = dt.datetime.fromisoformat(shareid.applicant(applicant_id)["ready_at"])
    assert attempt["status_code"] == 200
    assert dt.datetime.fromisoformat(attempt["sent_at"]) >= ready_at
