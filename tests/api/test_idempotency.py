"""Idempotency-Key: a retried POST returns the first result and creates nothing new."""

import uuid

import pytest

from api.models import IdempotencyRecord
from kyc.models import Customer, VerificationSession
from notifications.models import Endpoint

pytestmark = pytest.mark.django_db


def post(api, url, body, key):
    return api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.parametrize(
    ("url", "body", "model"),
    [
        ("/api/v1/customers/", {"external_ref": "CUST-9", "first_name": "Ada"}, Customer),
        ("/api/v1/notification-endpoints/", {"url": "https://example.com/hook"}, Endpoint),
    ],
)
def test_the_same_post_twice_creates_one_object_and_replays_the_first_answer(api, url, body, model):
    key = str(uuid.uuid4())
    first = post(api, url, body, key)
    second = post(api, url, body, key)
    assert first.status_code == second.status_code == 201
    expected = first.json()
    if model is Endpoint:  # its secret is shown once: a replay withholds it and says so
        expected |= {"secret": None, "secret_note": second.json()["secret_note"]}
    assert second.json() == expected
    assert second["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert model.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_starting_a_verification_twice_with_one_key_creates_one_session(api, customer, veriff):
    key = str(uuid.uuid4())
    url = f"/api/v1/customers/{customer.pk}/verifications/"
    first, second = post(api, url, {}, key), post(api, url, {}, key)
    assert first.status_code == second.status_code == 201  # the replay is the creation, not a resume
    assert first.json() == second.json()
    assert VerificationSession.objects.count() == 1 and len(veriff.calls) == 1


def test_the_same_key_with_another_body_is_refused(api):
    key = str(uuid.uuid4())
    post(api, "/api/v1/customers/", {"external_ref": "CUST-1"}, key)
    response = post(api, "/api/v1/customers/", {"external_ref": "CUST-2"}, key)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert list(Customer.objects.values_list("external_ref", flat=True)) == ["CUST-1"]


def test_the_same_key_on_another_endpoint_is_refused(api, customer):
    key = str(uuid.uuid4())
    assert post(api, "/api/v1/customers/", {"external_ref": "CUST-77"}, key).status_code == 201
    response = post(
        api, f"/api/v1/customers/{customer.pk}/verification-links/", {"external_ref": "CUST-77"}, key
    )
    assert response.status_code == 422


def test_keys_belong_to_one_client(api, make_key):
    from rest_framework.test import APIClient

    key = str(uuid.uuid4())
    post(api, "/api/v1/customers/", {"external_ref": "CUST-1"}, key)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key('write')}")
    response = post(other, "/api/v1/customers/", {"external_ref": "CUST-2"}, key)
    assert response.status_code == 201 and Customer.objects.count() == 2


def test_a_failed_request_does_not_use_up_the_key(api):
    key = str(uuid.uuid4())
    bad = post(api, "/api/v1/customers/", {"external_ref": "CUST-1", "country": "Estonia"}, key)
    assert bad.status_code == 400
    good = post(api, "/api/v1/customers/", {"external_ref": "CUST-1", "country": "EE"}, key)
    assert good.status_code == 201 and Customer.objects.count() == 1


def test_a_request_still_running_makes_a_retry_wait(api):
    key = str(uuid.uuid4())
    IdempotencyRecord.objects.create(
        client=f"key:{api_key_id(api)}", key=key, fingerprint="f", method="POST", path="/api/v1/customers/"
    )
    # Same request (fingerprint) as the one in progress: told to retry; nothing created.
    record = IdempotencyRecord.objects.get()
    record.fingerprint = _fingerprint_of(api, {"external_ref": "CUST-1"})
    record.save()
    response = post(api, "/api/v1/customers/", {"external_ref": "CUST-1"}, key)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_request_in_progress"
    assert not Customer.objects.exists()


def test_an_invalid_key_is_refused(api):
    response = post(api, "/api/v1/customers/", {"external_ref": "CUST-1"}, "has spaces in it")
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]


def api_key_id(api) -> int:
    from api.models import ApiKey

    return ApiKey.objects.get().pk


def _fingerprint_of(api, body) -> str:
    from types import SimpleNamespace

    from api.idempotency import _fingerprint

    request = SimpleNamespace(data=body, method="POST", path="/api/v1/customers/", body=b"")
    return _fingerprint(request, f"key:{api_key_id(api)}")
