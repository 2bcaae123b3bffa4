"""Helpers of the Solaris webhook tests (test_webhooks_*.py): the app and its Solaris sandbox
talking over "HTTP" in one process.

`network` catches every outgoing `requests` call at the HTTP boundary (`responses`) and hands
those for the app's own origins to Django's test client of the whole app: the sandbox's handshake
and notifications reach our real /webhooks/solaris/ view, and our /v1/webhooks and token calls
reach the real sandbox views, as `make run` does over a socket. Tasks run in-process (the
sandbox's delivery worker and our processing), as in development.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import responses
from django.test import Client

from providers.registry import get_provider
from providers.solaris import signing
from providers.solaris.models import WebhookSubscription
from providers.solaris.provider import SolarisProvider
from providers.solaris.sandbox.tasks import deliver_notification

PUBLIC_URL = "http://127.0.0.1:8000"  # settings.KYC_PUBLIC_URL in tests
# Another address of the same app (KYC_PUBLIC_URL changed), for subscriptions that move.
OTHER_PUBLIC_URL = "http://kyc.example.test"
RECEIVER_PATH = "/webhooks/solaris/"
RECEIVER_URL = PUBLIC_URL + RECEIVER_PATH
SANDBOX = "/sandbox/solaris"

# The seed's worked example (providers/solaris/README.md, "Signatures").
SEED_SECRET = "f82c389fb187274227186b5a58781978"
SEED_BODY = (
    b'{"id":"9dfe2f4edaa67138be0c0c1cd3a7d849cidt","reference":"TST-ELCCJ",'
    b'"url":"https://go.test.idnow.de/","status":"successful",'
    b'"completed_at":"2021-09-14T18:18:28.000Z","method":"idnow"}'
)
SEED_SIGNATURE = "sha256=732571b8050cf30ee6c795894e8565f221a3985efa9cd1caf396fe86b24fc156"
SEED_EMPTY_SIGNATURE = "sha256=a54bec67017d55cb479cd1b23f80e3c5396fb4e67c4e062bcd9d9566235ce431"
SEED_SUBSCRIPTION = "4c6f93d4c8d427927257e2ce734a5a10"  # the docs' example subscription id


@pytest.fixture(autouse=True)
def eager_tasks():
    """Tasks in-process, as in development, even where CELERY_BROKER_URL is set (CI)."""
    conf = deliver_notification.app.conf
    saved = conf.task_always_eager
    conf.task_always_eager = True
    yield
    conf.task_always_eager = saved


def solaris() -> SolarisProvider:
    provider = get_provider("solaris")
    assert isinstance(provider, SolarisProvider)
    return provider


def subscription_keep(subscription_id: str, secret: str, event_type: str = "IDENTIFICATION") -> None:
    """A subscription of ours with its secret sealed, as `solaris_webhooks sync` keeps it."""
    WebhookSubscription.objects.create(
        subscription_id=subscription_id,
        event_type=event_type,
        url=RECEIVER_URL,
        sealed_secret=solaris().seal.seal(secret),
    )


def delivery_headers(
    body: bytes,
    secret: str,
    *,
    event_type: str = "IDENTIFICATION",
    subscription_id: str = SEED_SUBSCRIPTION,
    webhook_id: str = "7c8f0ad1-0000-4000-8000-000000000001",
    entity_id: str = "",
    attempt: int = 1,
    signature: str | None = None,
) -> dict[str, str]:
    """The headers Solaris sends with a notification (README.md, "Delivery")."""
    headers = {
        "Solaris-Webhook-Id": webhook_id,
        "Solaris-Webhook-Subscription-Id": subscription_id,
        "Solaris-Webhook-Event-Type": event_type,
        "Solaris-Webhook-Attempt": str(attempt),
        "Solaris-Webhook-Signature": signing.signature(body, secret) if signature is None else signature,
    }
    if entity_id:
        headers["Solaris-Entity-Id"] = entity_id
    return headers


def post_delivery(client, body: bytes, headers: dict[str, str]):
    return client.post(RECEIVER_PATH, data=body, content_type="application/json", headers=headers)


class Network:
    """The app's origins served by the app itself (see the module's docstring)."""

    def __init__(self, mock: responses.RequestsMock, capture):
        self.mock = mock
        self.capture = capture
        self.client = Client()
        # What our receiver answered, in order: (event type, status).
        self.answers: list[tuple[str, int]] = []
        self.receiver_down = False
        # The receiver's answer lost on the way back (a timeout at Solaris's end): Solaris sends
        # the notification again although we have it.
        self.lose_answers = False
        origins = "|".join(re.escape(origin) for origin in (PUBLIC_URL, OTHER_PUBLIC_URL))
        for method in (responses.GET, responses.POST, responses.PATCH, responses.DELETE):
            mock.add_callback(method, re.compile(f"(?:{origins})/.*"), callback=self._serve)

    def _serve(self, request) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(request.url)
        path = url.path + (f"?{url.query}" if url.query else "")
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in ("content-type", "content-length", "host")
        }
        receiver = url.path.startswith(RECEIVER_PATH)
        if receiver and self.receiver_down:
            return 502, {}, b"bad gateway"
        response = self.client.generic(
            request.method,
            path,
            body,
            content_type=request.headers.get("Content-Type", ""),
            headers=headers,
        )
        if receiver:
            self.answers.append((request.headers.get("Solaris-Webhook-Event-Type", ""), response.status_code))
            if self.lose_answers:
                return 504, {}, b"gateway timeout"
        return response.status_code, {"Content-Type": response.get("Content-Type", "")}, response.content

    # -- the sandbox, as a test drives it -------------------------------------------------------
    def control(self, method: str, path: str, data: Any = None):
        """A control call; the notifications it causes are sent when its transaction commits, and
        what our receiver stores is processed when ours does: both run before this returns."""
        body = b"" if data is None else json.dumps(data).encode()
        with self.capture(execute=True):
            return self.client.generic(
                method, SANDBOX + "/control" + path, body, content_type="application/json"
            )

    def deliveries(self, **filters: str) -> list[dict[str, Any]]:
        response = self.client.get(SANDBOX + "/control/deliveries", filters)
        assert response.status_code == 200, response.content
        return response.json()["deliveries"]

    def api(self, method: str, path: str, data: Any = None):
        """Solaris's API with our client's token, as the app calls it."""
        kwargs = {} if data is None else {"json": data}
        api = solaris().webhook_subscriptions_api()
        return api.credentials.request(method, solaris().api_url + "/v1" + path, **kwargs)

    def person(self) -> str:
        """A person created at the sandbox, as the app creates one before an identification."""
        response = self.api(
            "POST", "/persons", {"first_name": "Anna", "last_name": "Schmidt", "birth_date": "1990-04-01"}
        )
        assert response.status_code == 201, response.content
        return response.json()["id"]

    def send_due(self) -> None:
        """Solaris's next attempt of every pending notification, now."""
        assert self.control("POST", "/deliveries/send-due", {"all": True}).status_code == 200

    def sandbox_subscriptions(self) -> list[dict[str, Any]]:
        response = self.api("GET", "/webhooks?page[size]=100")
        assert response.status_code == 200, response.content
        return response.json()


@pytest.fixture(name="network")
def network_fixture(db, django_capture_on_commit_callbacks) -> Network:
    """Imported by the test modules under this name; asked for as `network`."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield Network(mock, django_capture_on_commit_callbacks)
