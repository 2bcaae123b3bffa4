"""Webhook secret rotation: the current and the previous secret are both valid on the way in,
requests go out signed with the current one, and a retired secret opens nothing."""

import json

import pytest
import responses

from providers.registry import get_provider
from providers.veriff import signing
from tests.factories import SessionFactory
from tests.providers_config import veriff_options, with_options
from webhooks.models import InboundEvent

API_KEY = "5f0c9a49-8a7e-4d69-9d1d-1c6b7e0a3c11"
OLD, NEW, RETIRED = "old-secret-0000", "new-secret-1111", "retired-secret-2222"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("veriff_without_media")]


@pytest.fixture
def rotating(settings):
    with_options(
        settings, "veriff", api_key=API_KEY, api_secret=NEW, previous_secrets=[OLD], signature_scheme="hmac"
    )


def decision_body(session_id: str, status: str = "approved") -> bytes:
    verification = {
        "id": session_id,
        "status": status,
        "code": 9001,
        "attemptId": "a1",
        "decisionTime": "2026-01-01T10:00:00.000Z",
    }
    return json.dumps({"status": "success", "verification": verification}).encode()


def deliver(client, body: bytes, secret: str):
    headers = {"X-AUTH-CLIENT": API_KEY, "X-HMAC-SIGNATURE": signing.signature(body, secret, "hmac")}
    return client.post(
        "/webhooks/veriff/decision/", data=body, content_type="application/json", headers=headers
    )


@pytest.mark.parametrize("secret", [OLD, NEW])
def test_webhooks_signed_with_the_current_or_the_previous_secret_are_applied(client, rotating, secret):
    session = SessionFactory()
    assert deliver(client, decision_body(session.provider_session_id), secret).status_code == 200
    session.refresh_from_db()
    assert session.status == "approved"


def test_a_secret_no_longer_listed_is_rejected_and_nothing_is_applied(client, rotating):
    session = SessionFactory()
    response = deliver(client, decision_body(session.provider_session_id), RETIRED)
    assert response.status_code == 401
    assert InboundEvent.objects.get().state == InboundEvent.State.REJECTED
    session.refresh_from_db()
    assert session.status == "created"


@responses.activate
def test_requests_are_signed_with_the_current_secret_and_responses_accepted_under_either(settings, rotating):
    provider = get_provider("veriff")
    url = f"{veriff_options(settings).api_url}/sessions/s-1/decision"
    body = json.dumps({"status": "success", "verification": None}).encode()
    # Veriff still signs with the old secret while we have switched to the new one.
    responses.get(url, body=body, headers={"X-HMAC-SIGNATURE": signing.signature(body, OLD, "hmac")})
    assert provider.fetch_update("s-1") is None
    sent = responses.calls[0].request
    assert sent.headers["X-HMAC-SIGNATURE"] == signing.signature(b"s-1", NEW, "hmac")


@responses.activate
def test_a_response_signed_with_an_unknown_secret_is_refused(settings, rotating):
    from providers.base import ProviderError

    provider = get_provider("veriff")
    url = f"{veriff_options(settings).api_url}/sessions/s-1/decision"
    body = json.dumps({"status": "success", "verification": None}).encode()
    responses.get(url, body=body, headers={"X-HMAC-SIGNATURE": signing.signature(body, RETIRED, "hmac")})
    with pytest.raises(ProviderError, match="signature mismatch"):
        provider.fetch_update("s-1")
