"""Registering notification endpoints through the API, and reading events and deliveries."""

import datetime as dt

import pytest
from django.utils import timezone

from api.models import IdempotencyRecord
from api.tasks import idempotency_records_purge
from kyc.models import VerificationSession
from kyc.services import customers as kyc_customers
from notifications.models import Endpoint

pytestmark = pytest.mark.django_db


def test_register_read_and_disable_an_endpoint(api):
    created = api.post("/api/v1/notification-endpoints/", {"url": "https://example.com/kyc"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["secret"] == Endpoint.objects.get().secret
    read = api.get(f"/api/v1/notification-endpoints/{body['id']}/").json()
    assert "secret" not in read and read["enabled"] is True
    assert "secret" not in api.get("/api/v1/notification-endpoints/").json()["results"][0]
    assert api.delete(f"/api/v1/notification-endpoints/{body['id']}/").status_code == 204
    assert Endpoint.objects.get().enabled is False


def test_plain_http_is_refused_where_https_is_required(api, settings):
    settings.NOTIFICATIONS_REQUIRE_HTTPS = True
    response = api.post("/api/v1/notification-endpoints/", {"url": "http://example.com/kyc"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["fields"]["url"] == [
        "Must be an https:// URL."
    ]


@pytest.mark.django_db(transaction=True)
def test_events_and_deliveries_can_be_read_back(api, customer, settings):
    settings.NOTIFICATIONS_RETRY_BASE = 3600
    endpoint = api.post(
        "/api/v1/notification-endpoints/", {"url": "http://127.0.0.1:9/unreachable"}, format="json"
    ).json()
    VerificationSession.objects.create(customer=customer, provider="veriff")
    kyc_customers.customer_refresh_kyc_status(customer=customer)
    [event] = api.get(f"/api/v1/events/?customer={customer.pk}").json()["results"]
    assert (event["type"], event["sequence"], event["data"]["kyc_status"]) == (
        "customer.kyc_status.changed",
        1,
        "in_progress",
    )
    assert api.get(f"/api/v1/events/{event['id']}/").json() == event
    [delivery] = api.get(f"/api/v1/notification-endpoints/{endpoint['id']}/deliveries/").json()["results"]
    assert (
        delivery["event_id"] == event["id"] and delivery["state"] == "pending" and delivery["attempts"] == 1
    )


def test_old_idempotency_keys_are_forgotten(api):
    api.post("/api/v1/customers/", {"external_ref": "C-1"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    api.post("/api/v1/customers/", {"external_ref": "C-2"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    IdempotencyRecord.objects.filter(key="k-1").update(created_at=timezone.now() - dt.timedelta(days=2))
    assert idempotency_records_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["k-2"]
