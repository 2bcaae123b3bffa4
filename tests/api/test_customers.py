"""Customers: create, read, list (cursor pagination, filters, ordering), by reference, KYC status."""

import pytest

from kyc.models import AuditEvent, Customer, VerificationSession
from kyc.services import customers as kyc_customers

pytestmark = pytest.mark.django_db


def create(api, ref="CUST-42", **extra):
    return api.post("/api/v1/customers/", {"external_ref": ref, **extra}, format="json")


def test_create_and_read_a_customer(api):
    response = create(api, first_name="Ada", last_name="Example", email="ada@example.com", country="ee")
    assert response.status_code == 201
    body = response.json()
    assert (
        body["external_ref"] == "CUST-42" and body["country"] == "EE" and body["kyc_status"] == "unverified"
    )
    assert api.get(f"/api/v1/customers/{body['id']}/").json() == body
    assert api.get("/api/v1/customers/by-external-ref/CUST-42/").json() == body
    audit = AuditEvent.objects.get(action="customer.created")
    assert audit.actor is None and audit.actor_label.startswith("api-key:kyc_")


def test_a_second_customer_with_the_same_reference_is_a_conflict(api):
    create(api)
    response = create(api, first_name="Other")
    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {
        "external_ref": ["A customer with this external reference already exists."]
    }
    assert Customer.objects.count() == 1


def test_list_pages_with_a_cursor_until_the_end(api):
    for n in range(7):
        kyc_customers.customer_create(external_ref=f"C-{n}")
    seen, url = [], "/api/v1/customers/?limit=3"
    while url:
        page = api.get(url).json()
        assert len(page["results"]) <= 3
        seen += [c["external_ref"] for c in page["results"]]
        url = page["next"]
    assert seen == [f"C-{n}" for n in reversed(range(7))]  # newest first, each once


def test_list_ordering_and_filters(api):
    for n in range(3):
        kyc_customers.customer_create(external_ref=f"C-{n}")
    Customer.objects.filter(external_ref="C-1").update(kyc_status="verified")
    oldest_first = api.get("/api/v1/customers/?ordering=created_at").json()["results"]
    assert [c["external_ref"] for c in oldest_first] == ["C-0", "C-1", "C-2"]
    verified = api.get("/api/v1/customers/?kyc_status=verified").json()["results"]
    assert [c["external_ref"] for c in verified] == ["C-1"]
    by_ref = api.get("/api/v1/customers/?external_ref=C-2").json()["results"]
    assert [c["external_ref"] for c in by_ref] == ["C-2"]
    bad = api.get("/api/v1/customers/?kyc_status=nonsense")
    assert bad.status_code == 400 and "kyc_status" in bad.json()["error"]["fields"]


def test_kyc_status_with_its_history(api, customer):
    session = VerificationSession.objects.create(customer=customer, provider="veriff")
    kyc_customers.customer_refresh_kyc_status(customer=customer)
    VerificationSession.objects.filter(pk=session.pk).update(status="approved")
    kyc_customers.customer_refresh_kyc_status(customer=customer)
    body = api.get(f"/api/v1/customers/{customer.pk}/kyc-status/").json()
    assert body["kyc_status"] == "verified"
    assert body["latest_verification"]["id"] == str(session.reference)
    assert [(h["previous_kyc_status"], h["kyc_status"]) for h in body["history"]] == [
        ("in_progress", "verified"),
        ("unverified", "in_progress"),
    ]
