"""Fixtures for the Veriff sandbox tests.

The sandbox is driven through its real views with Django's test client, signed the way an
integration signs (`api`). Its outgoing webhooks are caught at the HTTP boundary with `responses`
(`webhooks`), as the app would receive them. Tests that follow webhooks use
`django_db(transaction=True)`: the sandbox sends them on commit, never inside a transaction.

Everything is handed out through fixtures (no helper imports), so the tests run whatever the
package layout of tests/ becomes.
"""

import json
import types
from typing import Any

import pytest
import responses
from django.urls import include, path

from providers.veriff import signing
from providers.veriff.sandbox.tasks import deliver_webhook
from tests.providers_config import with_options

API_KEY = "0b6f1a54-7c1e-4f57-9a0f-3d2b8c4e5f60"
# Veriff secrets are UUIDs; this one is long enough for HS256 (PyJWT warns below 32 bytes).
API_SECRET = "5e0c64c5-9d2b-4c1f-8b8e-7a3f0e9d2c11"
PUBLIC_URL = "http://127.0.0.1:8000"
API_PREFIX = "/sandbox/veriff/v1"
CONTROL_PREFIX = "/sandbox/veriff/control"

# Only the sandbox, mounted where config/urls.py mounts it, so that these tests do not depend on
# the rest of the project's URLs.
SANDBOX_URLCONF = types.ModuleType("veriff_sandbox_test_urls")
SANDBOX_URLCONF.urlpatterns = [path("sandbox/veriff/", include("providers.veriff.sandbox.urls"))]


@pytest.fixture(autouse=True)
def sandbox_settings(settings):
    settings.ROOT_URLCONF = SANDBOX_URLCONF
    settings.KYC_PUBLIC_URL = PUBLIC_URL
    with_options(settings, "veriff", api_key=API_KEY, api_secret=API_SECRET, signature_scheme=signing.HMAC)
    settings.SIM_TIME_SCALE = 1.0
    return settings


@pytest.fixture(autouse=True)
def eager_celery():
    """Tasks in-process, as in development, even where CELERY_BROKER_URL is set (CI)."""
    conf = deliver_webhook.app.conf
    saved = conf.task_always_eager
    conf.task_always_eager = True
    yield
    conf.task_always_eager = saved


class VeriffApi:
    """An integration calling the sandbox API: X-AUTH-CLIENT plus a signature in either scheme."""

    key = API_KEY
    secret = API_SECRET
    public_url = PUBLIC_URL

    def __init__(self, client):
        self.client = client

    def headers(self, payload: bytes | None, *, scheme: str = signing.HMAC) -> dict[str, str]:
        headers = {"X-AUTH-CLIENT": API_KEY}
        if payload is not None:
            headers[signing.HEADER[scheme]] = signing.signature(payload, API_SECRET, scheme)
        return headers

    def post(self, path: str, data: Any, *, scheme: str = signing.HMAC, signed: bool = True, headers=None):
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        all_headers = {**self.headers(body if signed else None, scheme=scheme), **(headers or {})}
        return self.client.post(API_PREFIX + path, body, content_type="application/json", headers=all_headers)

    def patch(self, path: str, data: Any, *, scheme: str = signing.HMAC):
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        headers = self.headers(body, scheme=scheme)
        return self.client.patch(API_PREFIX + path, body, content_type="application/json", headers=headers)

    def get(self, path: str, signed_id: str, *, scheme: str = signing.HMAC, headers=None):
        all_headers = {**self.headers(signed_id.encode(), scheme=scheme), **(headers or {})}
        return self.client.get(API_PREFIX + path, headers=all_headers)

    def get_url(self, url: str, signed_id: str):
        """Follow an absolute URL the sandbox handed out (media `url`, session `url`)."""
        return self.client.get(self.local(url), headers=self.headers(signed_id.encode()))

    def create_session(self, **verification: Any) -> dict[str, Any]:
        response = self.post("/sessions", {"verification": verification}, signed=False)
        assert response.status_code == 201, response.content
        return response.json()["verification"]

    def submit(self, session_id: str):
        return self.patch(f"/sessions/{session_id}", {"verification": {"status": "submitted"}})

    def local(self, url: str) -> str:
        assert url.startswith(PUBLIC_URL), url
        return url.removeprefix(PUBLIC_URL)

    def is_signed(self, headers, body: bytes, scheme: str = signing.HMAC) -> bool:
        """Would the app accept these bytes with these headers (X-AUTH-CLIENT and signature)?"""
        return headers.get("X-AUTH-CLIENT") == API_KEY and signing.verify(body, headers, API_SECRET, scheme)


@pytest.fixture
def api(client) -> VeriffApi:
    return VeriffApi(client)


class WebhookReceiver:
    """The app's two Veriff webhook endpoints, seen from the network."""

    events_url = PUBLIC_URL + "/webhooks/veriff/events/"
    decision_url = PUBLIC_URL + "/webhooks/veriff/decision/"
    watchlist_url = PUBLIC_URL + "/webhooks/veriff/watchlist/"

    def __init__(self, mock: responses.RequestsMock):
        self.mock = mock
        self.answer(200)

    def answer(self, status: int) -> None:
        """Make both endpoints answer `status` from now on."""
        self.mock.reset()
        for url in (self.events_url, self.decision_url, self.watchlist_url):
            self.mock.add(responses.POST, url, json={"status": "success"}, status=status)

    @property
    def requests(self) -> list[Any]:
        return [call.request for call in self.mock.calls]

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(request.body) for request in self.requests]

    def codes(self) -> list[int]:
        """The code of each webhook received, in arrival order (7001, 7002, 9001, …)."""
        return [body.get("code") or body["verification"]["code"] for body in self.bodies()]


@pytest.fixture
def webhooks():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield WebhookReceiver(mock)


class Control:
    """The sandbox-only control endpoints."""

    def __init__(self, client):
        self.client = client

    def watchlist(self, session_id: str, **data: Any):
        return self.post(f"/sessions/{session_id}/watchlist", data)

    def post(self, path: str, data: Any = None):
        body = json.dumps(data if data is not None else {})
        return self.client.post(CONTROL_PREFIX + path, body, content_type="application/json")

    def decide(self, session_id: str, **data: Any):
        return self.post(f"/sessions/{session_id}/decision", data)

    def expire(self, session_id: str):
        return self.post(f"/sessions/{session_id}/expire")

    def sweep(self):
        return self.post("/sweep")

    def log(self, session_id: str | None = None) -> list[dict[str, Any]]:
        query = {"session": session_id} if session_id else {}
        response = self.client.get(CONTROL_PREFIX + "/webhooks", query)
        assert response.status_code == 200, response.content
        return response.json()["deliveries"]

    def redeliver(self, delivery_id: int):
        return self.post(f"/webhooks/{delivery_id}/redeliver")


@pytest.fixture
def control(client) -> Control:
    return Control(client)
