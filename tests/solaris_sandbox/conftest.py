"""Fixtures for the Solaris sandbox tests.

The sandbox is driven through its real views with Django's test client, with a token fetched the
way a partner fetches it (`solaris`). Its outgoing calls (the subscription handshake and the
notifications) are caught at the HTTP boundary with `responses` (`receiver`), as the app would
receive them. Notifications are sent when the sandbox's transaction commits, so tests that follow
them run the on-commit callbacks (`django_capture_on_commit_callbacks`), through `solaris.commit`.

Everything is handed out through fixtures (no helper imports), so the tests run whatever the
package layout of tests/ becomes.
"""

import base64
import json
import types
from typing import Any

import pytest
import responses
from django.urls import include, path

from providers.solaris.sandbox import credentials
from providers.solaris.sandbox.tasks import deliver_notification

PUBLIC_URL = "http://127.0.0.1:8000"
PREFIX = "/sandbox/solaris"
RECEIVER_URL = PUBLIC_URL + "/webhooks/solaris/"

# Only the sandbox, mounted where config/urls.py mounts it.
SANDBOX_URLCONF = types.ModuleType("solaris_sandbox_test_urls")
SANDBOX_URLCONF.urlpatterns = [path("sandbox/solaris/", include("providers.solaris.sandbox.urls"))]


@pytest.fixture(autouse=True)
def sandbox_settings(settings):
    settings.ROOT_URLCONF = SANDBOX_URLCONF
    settings.KYC_PUBLIC_URL = PUBLIC_URL
    settings.SIM_TIME_SCALE = 1.0
    settings.SOLARIS_SANDBOX_TOKEN_SECONDS = 3599
    return settings


@pytest.fixture(autouse=True)
def eager_celery():
    """Tasks in-process, as in development, even where CELERY_BROKER_URL is set (CI)."""
    conf = deliver_notification.app.conf
    saved = conf.task_always_eager
    conf.task_always_eager = True
    yield
    conf.task_always_eager = saved


def basic(client_id: str = credentials.CLIENT_ID, client_secret: str = credentials.CLIENT_SECRET) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()


class SolarisApi:
    """A partner calling the sandbox: a bearer token from /oauth2/token on every API call."""

    prefix = PREFIX
    public_url = PUBLIC_URL
    receiver_url = RECEIVER_URL
    basic = staticmethod(basic)

    def __init__(self, client, capture):
        self.client = client
        self.capture = capture
        self.token: str | None = None

    def fetch_token(self, **overrides: Any):
        return self.client.post(
            PREFIX + "/oauth2/token",
            "grant_type=client_credentials&scope=partners",
            content_type="application/x-www-form-urlencoded",
            headers={"Authorization": basic(), **overrides},
        )

    def bearer(self) -> dict[str, str]:
        if self.token is None:
            response = self.fetch_token()
            assert response.status_code == 200, response.content
            self.token = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, method: str, path: str, data: Any = None, *, headers=None):
        body = b"" if data is None else json.dumps(data).encode()
        all_headers = {**self.bearer(), **(headers or {})}
        with self.capture(execute=True):
            return self.client.generic(
                method, PREFIX + "/v1" + path, body, content_type="application/json", headers=all_headers
            )

    def get(self, path: str, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path: str, data: Any, **kwargs):
        return self.call("POST", path, data, **kwargs)

    def patch(self, path: str, data: Any = None, **kwargs):
        return self.call("PATCH", path, {} if data is None else data, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.call("DELETE", path, **kwargs)

    def control(self, method: str, path: str, data: Any = None):
        body = b"" if data is None else json.dumps(data).encode()
        with self.capture(execute=True):
            return self.client.generic(
                method, PREFIX + "/control" + path, body, content_type="application/json"
            )

    def local(self, url: str) -> str:
        assert url.startswith(PUBLIC_URL), url
        return url.removeprefix(PUBLIC_URL)

    # --- the usual first steps ---------------------------------------------------------------

    def create_person(self, **fields: Any) -> dict[str, Any]:
        data = {"first_name": "Anna", "last_name": "Schmidt", "birth_date": "1990-04-01", **fields}
        response = self.post("/persons", data)
        assert response.status_code == 201, response.content
        return response.json()

    def create_identification(self, person_id: str, **fields: Any) -> dict[str, Any]:
        response = self.post(f"/persons/{person_id}/identifications", {"method": "idnow", **fields})
        assert response.status_code == 201, response.content
        return response.json()

    def requested_identification(self, **person_fields: Any) -> dict[str, Any]:
        person = self.create_person(**person_fields)
        identification = self.create_identification(person["id"], reference="CUST-1")
        response = self.patch(f"/persons/{person['id']}/identifications/{identification['id']}/request")
        assert response.status_code == 201, response.content
        return response.json()

    def subscribe(self, event_type: str, url: str = RECEIVER_URL) -> dict[str, Any]:
        response = self.post("/webhooks", {"event_type": event_type, "url": url})
        assert response.status_code == 201, response.content
        return response.json()

    def outcome(self, identification_id: str, status: str):
        return self.control("POST", f"/identifications/{identification_id}/outcome", {"status": status})

    def deliveries(self, **filters: str) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        response = self.client.get(PREFIX + "/control/deliveries" + (f"?{query}" if query else ""))
        assert response.status_code == 200
        return response.json()["deliveries"]


@pytest.fixture
def solaris(client, django_capture_on_commit_callbacks) -> SolarisApi:
    return SolarisApi(client, django_capture_on_commit_callbacks)


class Receiver:
    """The app's /webhooks/solaris/ seen from the network: answers the handshake and every
    notification with `status` (changeable), and keeps what arrived."""

    url = RECEIVER_URL

    def __init__(self, mock: responses.RequestsMock):
        self.mock = mock
        self.answer(200)

    def answer(self, status: int | None = None, *, error: Exception | None = None) -> None:
        # upsert, not reset: what arrived before stays in `requests`.
        if error is not None:
            self.mock.upsert(responses.POST, self.url, body=error)
        else:
            self.mock.upsert(responses.POST, self.url, body=b"", status=status)

    @property
    def requests(self) -> list[Any]:
        return [call.request for call in self.mock.calls]

    def notifications(self) -> list[Any]:
        """What arrived, handshakes left out."""
        return [
            r for r in self.requests if r.headers.get("Solaris-Webhook-Event-Type") != "WEBHOOK-SUBSCRIPTION"
        ]


@pytest.fixture
def receiver():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield Receiver(mock)
