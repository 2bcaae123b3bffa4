"""Fixtures for the ShareID sandbox tests.

The sandbox is driven through its real views with Django's test client, the way the app's client
calls it (`shareid`). Its callbacks are caught at the HTTP boundary with `responses` (`receiver`),
as the app would receive them, or by a real HTTP server on a thread where the bytes on the wire
matter. Callbacks are scheduled when the sandbox's transaction commits, so the helpers run the
on-commit callbacks (`django_capture_on_commit_callbacks`). The 5-second rule and the token
lifetimes are real time: `clock` moves django.utils.timezone.now forward instead of sleeping.

Everything is handed out through fixtures (no helper imports), as the Solaris sandbox's tests do.
"""

import datetime as dt
import json
import types
from typing import Any

import pytest
import responses
from django.urls import include, path
from django.utils import timezone

from providers.shareid.sandbox import credentials
from providers.shareid.sandbox.tasks import send_callback

PUBLIC_URL = "http://127.0.0.1:8000"
PREFIX = "/sandbox/shareid"
# The app's per-session notification URL: a query string that must arrive exactly as given.
CALLBACK_URL = PUBLIC_URL + "/webhooks/shareid/?token=k%7Eq_3-Z&x=1"

SANDBOX_URLCONF = types.ModuleType("shareid_sandbox_test_urls")
SANDBOX_URLCONF.urlpatterns = [path("sandbox/shareid/", include("providers.shareid.sandbox.urls"))]


@pytest.fixture(autouse=True)
def sandbox_settings(settings):
    settings.ROOT_URLCONF = SANDBOX_URLCONF
    settings.KYC_PUBLIC_URL = PUBLIC_URL
    settings.SIM_TIME_SCALE = 1.0
    # The result is ready at once unless a test says otherwise, so callbacks go out inside the call.
    settings.SHAREID_SANDBOX_ANALYSIS_SECONDS = 0.0
    settings.SHAREID_SANDBOX_FETCH_TOKEN_SECONDS = 600
    return settings


@pytest.fixture(autouse=True)
def eager_celery():
    """Tasks in-process, as in development, even where CELERY_BROKER_URL is set (CI)."""
    conf = send_callback.app.conf
    saved = conf.task_always_eager
    conf.task_always_eager = True
    yield
    conf.task_always_eager = saved


class Clock:
    """django.utils.timezone.now, moved forward on demand (the sandbox reads the time through it)."""

    def __init__(self, monkeypatch):
        self.offset = dt.timedelta()
        real_now = timezone.now
        monkeypatch.setattr(timezone, "now", lambda: real_now() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


class ShareIDApi:
    """The app's ShareID client, as the wire contract has it: credentials in the body of starts
    and token calls, a fetch token as a Bearer on fetches."""

    prefix = PREFIX
    callback_url = CALLBACK_URL
    credentials = {"business_hash": credentials.BUSINESS_HASH, "api_key": credentials.API_KEY}

    def __init__(self, client, capture):
        self.client = client
        self.capture = capture

    def post(self, path: str, data: Any, **headers: str):
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        with self.capture(execute=True):
            return self.client.post(PREFIX + path, body, content_type="application/json", headers=headers)

    def start_response(self, **fields: Any):
        body = {
            **self.credentials,
            "customer_data": {"reference": "9b2f0c7e-ref"},
            "methods": ["doc", "face"],
            "callback": CALLBACK_URL,
            "callback_with_document_capture": True,
            "advanced_verification": False,
            "session_duration": 600,
            **fields,
        }
        return self.post("/flow/onboarding/auth/business", {k: v for k, v in body.items() if v is not None})

    def start(self, **fields: Any) -> dict[str, Any]:
        response = self.start_response(**fields)
        assert response.status_code == 200, response.content
        return response.json()

    def fetch_token(self, kind: str = "onboarding") -> str:
        response = self.post(f"/flow/{kind}/fetch/auth/business", self.credentials)
        assert response.status_code == 200, response.content
        return response.json()["token"]

    def fetch(self, applicant_id: str, token: str | None = None):
        token = token or self.fetch_token()
        return self.post(
            "/flow/onboarding/fetch", {"applicant_id": applicant_id}, Authorization=f"Bearer {token}"
        )

    def control(self, method: str, path: str, data: Any = None):
        body = b"" if data is None else json.dumps(data).encode()
        with self.capture(execute=True):
            return self.client.generic(
                method, PREFIX + "/control" + path, body, content_type="application/json"
            )

    def complete(self, applicant_id: str, reasons: list[str] | None = None, **fields: Any):
        return self.control(
            "POST", f"/applicants/{applicant_id}/complete", {"reasons": reasons or [], **fields}
        )

    def applicant(self, applicant_id: str) -> dict[str, Any]:
        response = self.control("GET", f"/applicants/{applicant_id}")
        assert response.status_code == 200, response.content
        return response.json()

    def stats(self) -> dict[str, int]:
        return self.control("GET", "/stats").json()

    def callbacks(self, **filters: str) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        response = self.client.get(PREFIX + "/control/callbacks" + (f"?{query}" if query else ""))
        assert response.status_code == 200
        return response.json()["callbacks"]


@pytest.fixture
def shareid(client, django_capture_on_commit_callbacks) -> ShareIDApi:
    return ShareIDApi(client, django_capture_on_commit_callbacks)


class Receiver:
    """The app's callback URL seen from the network: answers with `status` (changeable) and keeps
    what arrived."""

    url = CALLBACK_URL

    def __init__(self, mock: responses.RequestsMock):
        self.mock = mock
        self.answer(200)

    def answer(self, status: int | None = None, *, error: Exception | None = None) -> None:
        self.mock.upsert(
            responses.POST, self.url, body=error if error is not None else b"", status=status or 200
        )

    @property
    def requests(self) -> list[Any]:
        return [call.request for call in self.mock.calls]


@pytest.fixture
def receiver():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield Receiver(mock)


class LocalReceiver:
    """A real HTTP server on a thread: what arrives on the wire (the request line's path and query
    byte for byte, headers, body), answered with `status` after `delay` seconds."""

    def __init__(self):
        import http.server
        import threading

        self.arrived: list[dict[str, Any]] = []
        self.status = 200
        self.delay = 0.0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                import time

                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.arrived.append({"path": self.path, "headers": dict(self.headers), "body": body})
                time.sleep(receiver.delay)
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sandbox gave up waiting and closed the connection

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def local_receiver():
    server = LocalReceiver()
    yield server
    server.close()
