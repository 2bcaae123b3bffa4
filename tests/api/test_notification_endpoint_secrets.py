"""A notification endpoint's secret is shown once and kept nowhere else (not in the idempotency
store, not in a replay); an endpoint belongs to the API key that registered it; its secret can be
rotated with an overlap during which deliveries carry both signatures."""

import datetime as dt
import json

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks import Webhook, WebhookVerificationError

from api.models import IdempotencyRecord
from kyc.models import VerificationSession
from kyc.services import customers
from notifications.models import Endpoint
from tests.notifications.conftest import Receiver

pytestmark = pytest.mark.django_db

URL = "/api/v1/notification-endpoints/"


@pytest.fixture
def other_api(make_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key('read', 'write', name='other client')}")
    return client


@pytest.fixture
def staff_session():
    client = APIClient()
    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "pw-Long-enough-1"))
    return client


def test_a_replay_does_not_show_the_secret_again_and_the_store_never_held_it(api):
    first = api.post(URL, {"url": "https://example.com/kyc"}, format="json", HTTP_IDEMPOTENCY_KEY="ep-1")
    assert first.status_code == 201
    secret = first.json()["secret"]
    assert secret.startswith("whsec_")
    stored = json.dumps([r.response_body for r in IdempotencyRecord.objects.all()])
    assert secret not in stored and secret[6:] not in stored

    replay = api.post(URL, {"url": "https://example.com/kyc"}, format="json", HTTP_IDEMPOTENCY_KEY="ep-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    body = replay.json()
    assert body["id"] == first.json()["id"] and body["secret"] is None
    assert "shown once" in body["secret_note"]
    assert Endpoint.objects.count() == 1


def test_an_endpoint_is_seen_and_changed_only_by_the_key_that_registered_it(api, other_api, staff_session):
    mine = api.post(URL, {"url": "https://example.com/mine"}, format="json").json()
    theirs = other_api.post(URL, {"url": "https://example.com/theirs"}, format="json").json()

    assert [e["url"] for e in api.get(URL).json()["results"]] == ["https://example.com/mine"]
    assert [e["url"] for e in other_api.get(URL).json()["results"]] == ["https://example.com/theirs"]
    for path in (f"{URL}{mine['id']}/", f"{URL}{mine['id']}/deliveries/"):
        assert other_api.get(path).status_code == 404
    assert other_api.delete(f"{URL}{mine['id']}/").status_code == 404
    assert other_api.post(f"{URL}{mine['id']}/rotate-secret/").status_code == 404
    assert Endpoint.objects.get(pk=mine["id"]).enabled is True
    # Staff (a signed-in person) see every endpoint.
    assert {e["id"] for e in staff_session.get(URL).json()["results"]} == {mine["id"], theirs["id"]}
    assert staff_session.get(f"{URL}{mine['id']}/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_rotated_secret_overlaps_the_old_one_until_it_expires(api, customer, settings):
    settings.NOTIFICATIONS_SECRET_OVERLAP = 3600
    receiver = Receiver()
    try:
        created = api.post(URL, {"url": receiver.url}, format="json").json()
        old = created["secret"]
        rotated = api.post(f"{URL}{created['id']}/rotate-secret/")
        assert rotated.status_code == 200
        new = rotated.json()["secret"]
        assert new.startswith("whsec_") and new != old
        expires = dt.datetime.fromisoformat(
            rotated.json()["previous_secret_expires_at"].replace("Z", "+00:00")
        )
        assert 3500 < (expires - timezone.now()).total_seconds() <= 3600
        assert "secret" not in api.get(f"{URL}{created['id']}/").json()

        VerificationSession.objects.create(customer=customer, provider="veriff", status="started")
        customers.customer_refresh_kyc_status(customer=customer)
        [request] = receiver.requests
        assert len(request["headers"]["webhook-signature"].split(" ")) == 2
        for secret in (old, new):  # a receiver that has either secret accepts the delivery
            Webhook(secret).verify(request["body"], request["headers"])

        Endpoint.objects.update(previous_secret_expires_at=timezone.now() - dt.timedelta(seconds=1))
        VerificationSession.objects.create(customer=customer, provider="veriff", status="approved")
        customers.customer_refresh_kyc_status(customer=customer)
        latest = receiver.requests[-1]
        assert len(latest["headers"]["webhook-signature"].split(" ")) == 1
        Webhook(new).verify(latest["body"], latest["headers"])
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(latest["body"], latest["headers"])
    finally:
        receiver.close()
