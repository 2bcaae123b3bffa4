"""The webhook ingest path's own machinery (benchmarks/webhook_ingest.py): the WSGI dispatcher and
its short middleware stack, the insert, the retry on a connection that died, and the batched
queueing of processing."""

import io
import logging
import sys
import threading

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper

from config.wsgi import application
from kyc.models import VerificationSession
from providers.veriff import signing
from tests.factories import SessionFactory
from tests.providers_config import veriff_options
from tests.webhooks.test_delivery_semantics import signed_decision
from webhooks import dispatch, processing, tasks
from webhooks.models import InboundEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("veriff_without_media")]


def wsgi_call(method: str, path: str, body: bytes = b"", headers: dict | None = None):
    """One request through config.wsgi.application, as gunicorn makes it."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.7",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"] = int(status.split()[0])
        started["headers"] = {name.lower(): value for name, value in response_headers}

    content = b"".join(application(environ, start_response))
    return started["status"], started["headers"], content


def test_a_webhook_through_the_wsgi_application_is_stored_and_applied_without_the_site_middleware(settings):
    session = SessionFactory()
    body, headers = signed_decision(settings, session.provider_session_id)
    status, response_headers, _ = wsgi_call("POST", "/webhooks/veriff/decision/", body, headers)
    assert status == 200
    event = InboundEvent.objects.get()
    assert (event.state, bytes(event.body), event.remote_addr) == ("processed", body, "192.0.2.7")
    assert VerificationSession.objects.get(pk=session.pk).status == "approved"
    # No session, auth, locale or axes middleware: no cookie, no language negotiation; the
    # security headers are still there.
    assert "set-cookie" not in response_headers and "content-language" not in response_headers
    assert response_headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response_headers


def test_the_sandbox_provider_api_is_served_by_the_short_stack_and_still_authenticates(settings):
    session_id = "6f1c2a3e-0000-4000-8000-000000000001"
    path = f"/sandbox/veriff/v1/sessions/{session_id}/decision"
    signed = {
        "X-AUTH-CLIENT": veriff_options(settings).api_key,
        "X-HMAC-SIGNATURE": signing.signature(
            session_id.encode(), veriff_options(settings).api_secret, signing.HMAC
        ),
    }
    status, response_headers, content = wsgi_call("GET", path, headers=signed)
    assert status == 404 and b"not found" in content.lower()  # authenticated, then no such session
    assert "set-cookie" not in response_headers and "content-language" not in response_headers
    assert response_headers["x-content-type-options"] == "nosniff"
    assert wsgi_call("GET", path, headers={"X-AUTH-CLIENT": "wrong"})[0] == 401
    # The sandbox's hosted page is a page for a person: the site's stack.
    status, response_headers, _ = wsgi_call("GET", "/sandbox/veriff/v/no-such-token")
    assert "content-language" in response_headers


def test_the_rest_of_the_site_keeps_its_full_middleware_stack():
    status, response_headers, _ = wsgi_call("GET", "/verify/not-a-reference/")
    assert status == 404
    assert "content-language" in response_headers  # LocaleMiddleware, not on the webhook stack


def test_the_webhook_stack_rejects_what_the_view_does_not_take(settings):
    assert wsgi_call("GET", "/webhooks/veriff/decision/")[0] == 405
    assert wsgi_call("POST", "/webhooks/nobody/decision/", b"{}")[0] == 404
    status, _, _ = wsgi_call("POST", "/webhooks/veriff/decision/", b"{}", {"X-AUTH-CLIENT": "wrong"})
    assert status == 401
    assert InboundEvent.objects.get().state == "rejected"  # kept for inspection


def test_the_insert_writes_what_the_model_would(settings):
    session = SessionFactory()
    body, headers = signed_decision(settings, session.provider_session_id)
    settings.CELERY_TASK_ALWAYS_EAGER = True
    status, _, _ = wsgi_call("POST", "/webhooks/veriff/decision/", body, headers)
    assert status == 200
    event = InboundEvent.objects.get()
    assert event.provider == "veriff" and event.kind == "decision" and event.authenticated
    assert event.provider_session_id == session.provider_session_id
    assert event.dedupe_key and event.duplicates == 0 and event.received_at is not None
    assert event.headers["X-AUTH-CLIENT"].startswith("sha256:")  # fingerprinted, never the key
    assert event.headers["X-HMAC-SIGNATURE"] == headers["X-HMAC-SIGNATURE"]
    # A second delivery of the same body is counted, not stored again.
    assert wsgi_call("POST", "/webhooks/veriff/decision/", body, headers)[0] == 200
    assert InboundEvent.objects.get().duplicates == 1


def test_a_connection_that_died_since_the_last_request_is_replaced_and_the_delivery_stored(
    settings, monkeypatch, client
):
    session = SessionFactory()
    body, headers = signed_decision(settings, session.provider_session_id)
    real_execute = CursorWrapper.execute
    failures = []

    def dies_once(self, sql, params=None):
        if not failures and sql.startswith("INSERT"):
            failures.append(sql)
            raise OperationalError("server closed the connection unexpectedly")
        return real_execute(self, sql, params)

    monkeypatch.setattr(CursorWrapper, "execute", dies_once)
    response = client.post(
        "/webhooks/veriff/decision/", data=body, content_type="application/json", headers=headers
    )
    assert response.status_code == 200 and len(failures) == 1
    assert InboundEvent.objects.count() == 1


def test_the_sandbox_api_answers_on_a_new_connection_when_its_connection_died(settings, monkeypatch, client):
    session_id = "6f1c2a3e-0000-4000-8000-000000000002"
    headers = {
        "X-AUTH-CLIENT": veriff_options(settings).api_key,
        "X-HMAC-SIGNATURE": signing.signature(
            session_id.encode(), veriff_options(settings).api_secret, signing.HMAC
        ),
    }
    real_execute = CursorWrapper.execute
    failures = []

    def dies_once(self, sql, params=None):
        if not failures:
            failures.append(sql)
            raise OperationalError("server closed the connection unexpectedly")
        return real_execute(self, sql, params)

    monkeypatch.setattr(CursorWrapper, "execute", dies_once)
    response = client.get(f"/sandbox/veriff/v1/sessions/{session_id}/decision", headers=headers)
    assert response.status_code == 404 and len(failures) == 1  # answered: no such session
    assert "sandboxfault" in failures[0]  # the fault look-up was the first statement, no SELECT 1


class _Recorder:
    def __init__(self, fail: bool = False):
        self.batches, self.fail, self.done = [], fail, threading.Event()

    def __call__(self, batch):
        self.batches.append(list(batch))
        self.done.set()
        if self.fail:
            raise ConnectionError("broker down")


def test_ids_added_together_are_published_in_one_batch_by_the_thread():
    recorder = _Recorder()
    publisher = dispatch.BatchPublisher(recorder, linger=0.2, max_batch=100)
    for event_id in range(1, 6):
        publisher.add(event_id)
    assert recorder.done.wait(5)
    assert recorder.batches == [[1, 2, 3, 4, 5]]


def test_a_batch_is_split_at_the_maximum_size():
    recorder = _Recorder()
    publisher = dispatch.BatchPublisher(recorder, linger=60, max_batch=2)
    for event_id in range(1, 6):
        publisher.add(event_id)
    publisher.flush()  # as at exit, before the linger is over
    assert recorder.batches == [[1, 2], [3, 4], [5]]


def test_a_failed_publish_is_logged_and_left_to_reconciliation(caplog):
    recorder = _Recorder(fail=True)
    publisher = dispatch.BatchPublisher(recorder, linger=60, max_batch=10)
    publisher.add(7)
    with caplog.at_level(logging.ERROR, logger="webhooks.dispatch"):
        publisher.flush()  # does not raise
    assert recorder.batches == [[7]]
    assert "could not queue 1 stored events" in caplog.text and "ConnectionError" in caplog.text


def test_with_a_broker_the_stored_event_is_queued_in_a_batch_task(settings, monkeypatch, request):
    from celery import current_app

    published = []
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    request.addfinalizer(lambda: setattr(current_app.conf, "task_always_eager", eager))
    monkeypatch.setattr(dispatch, "_publisher", None)
    monkeypatch.setattr(tasks.inbound_events_process, "delay", published.append)
    settings.KYC_WEBHOOK_ENQUEUE_LINGER_MS = 1000  # the flush below comes first
    dispatch.enqueue_event(41)
    dispatch.enqueue_event(42)
    dispatch._publisher.flush()
    assert [41, 42] in published

    single = []
    monkeypatch.setattr(tasks.inbound_event_process, "delay", single.append)
    settings.KYC_WEBHOOK_ENQUEUE_LINGER_MS = 0  # one message per event, at once
    dispatch.enqueue_event(43)
    assert single == [43]


def test_a_batch_task_processes_each_event_and_retries_the_rest_when_the_database_goes(monkeypatch):
    done = []

    def process(*, event_id):
        if event_id == 3:
            raise OperationalError("the database went away")
        done.append(event_id)

    monkeypatch.setattr(processing, "inbound_event_process", process)
    retried = {}

    def retry(*, args, exc, countdown):
        retried.update(args=args, countdown=countdown)
        return RuntimeError("retry")

    task = tasks.inbound_events_process
    monkeypatch.setattr(task, "retry", retry)
    task.push_request(retries=0, is_eager=False)
    try:
        with pytest.raises(RuntimeError, match="retry"):
            task.run([1, 2, 3, 4])
    finally:
        task.pop_request()
    assert done == [1, 2]
    assert retried["args"] == ([3, 4],) and retried["countdown"] >= 0


def test_a_single_event_task_retries_its_event_when_the_database_goes(monkeypatch):
    def process(*, event_id):
        raise OperationalError("the database went away")

    monkeypatch.setattr(processing, "inbound_event_process", process)
    retried = {}
    task = tasks.inbound_event_process
    monkeypatch.setattr(task, "retry", lambda **kwargs: retried.update(kwargs) or RuntimeError("retry"))
    task.push_request(retries=0, is_eager=False)
    try:
        with pytest.raises(RuntimeError, match="retry"):
            task.run(9)
    finally:
        task.pop_request()
    assert retried["args"] == (9,)
