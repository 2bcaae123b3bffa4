"""POST /api/v1/customers/{id}/erasure/: the GDPR erasure of kyc.operations.erasure through the API,
for a `staff` key or a staff member with `kyc.erase_customer`; audited with who asked and why."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from api.models import ApiKey, IdempotencyRecord
from api.services import api_key_create, api_key_revoke
from kyc.models import AuditEvent, Customer, Media, Review, ReviewReason
from notifications.models import Delivery, DeliveryAttempt, Endpoint, Event
from tests.factories import SessionFactory
from tests.kyc.conftest import decide, make_staff
from tests.kyc.operations.conftest import (  # noqa: F401 (fixtures)
    assert_audit_trail_intact,
    audit_snapshot,
    evidence_files,
    personal_data_left,
    sandbox_app,
    verified_customer,
)

pytestmark = pytest.mark.django_db(transaction=True)


def key_client(*scopes) -> tuple[APIClient, ApiKey]:
    key, raw = api_key_create(name="backend", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client, key


def staff_client(username: str, *perms: str) -> APIClient:
    user = User.objects.create_user(username, password="pw-erasure-1234", is_staff=True)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = APIClient()
    client.force_login(user)
    return client


def erase(client, customer_id, body=None, **headers):
    return client.post(
        f"/api/v1/customers/{customer_id}/erasure/",
        {"request_ref": "DSR-42"} if body is None else body,
        format="json",
        **headers,
    )


def receiver_answered(customer, text: str) -> None:
    """A notification delivery of the customer's, whose receiver echoed `text` in its answer."""
    endpoint = Endpoint.objects.create(url="https://receiver.example.com/kyc", secret="whsec_x")
    event = Event.objects.create(
        customer=customer, sequence=99, data={"customer": {"id": customer.pk}, "kyc_status": "approved"}
    )
    delivery = Delivery.objects.create(event=event, endpoint=endpoint, customer=customer, sequence=99)
    DeliveryAttempt.objects.create(delivery=delivery, status_code=200, response_body=f"ok, {text}")


def test_a_staff_key_erases_everything_personal_including_api_and_notification_records(
    verified_customer,  # noqa: F811
    settings,
):
    customer, secrets = verified_customer()
    writer, _ = key_client("read", "write")
    created = writer.post(
        "/api/v1/customers/",
        {
            "external_ref": "API-9",
            "first_name": "Ignatius",
            "last_name": "Fairweather",
            "email": "if@example.net",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="create-api-9",
    )
    assert created.status_code == 201
    api_customer = Customer.objects.get(external_ref="API-9")
    api_secrets = {"Ignatius", "Fairweather", "if@example.net"}
    receiver_answered(customer, "thanks Wilhelmina")
    # The hunt finds the stored response of the creation, not only the customer's row.
    tables = {line.split(":")[0] for line in personal_data_left(api_secrets)}
    assert tables == {"Customer", "IdempotencyRecord"}
    assert any(line.startswith("DeliveryAttempt") for line in personal_data_left({"Wilhelmina"}))
    audit_before = audit_snapshot()
    client, key = key_client("staff")

    first = erase(client, customer.pk)
    second = erase(client, api_customer.pk, {"request_ref": "DSR-43"})

    assert first.status_code == 200, first.content
    body = first.json()
    assert body["customer_id"] == customer.pk and body["external_ref"] == "ERASE-1"
    assert body["already_erased"] is False and body["files_deleted"] >= 3 and body["erased_at"]
    assert body["delivery_responses_redacted"] == 1
    assert second.status_code == 200 and second.json()["idempotency_records_deleted"] == 1
    assert personal_data_left(secrets | api_secrets) == []
    assert evidence_files(settings) == []
    assert set(Media.objects.values_list("state", flat=True)) == {Media.State.PURGED}
    # The notification event stays: the minimal record (id, external reference, status).
    assert Event.objects.filter(customer=customer).exists()
    assert_audit_trail_intact(audit_before)
    entry = AuditEvent.objects.get(action="customer.erased", customer_id=customer.pk)
    assert entry.actor is None and entry.actor_label == f"api-key:{key.prefix}"
    assert entry.after["request_ref"] == "DSR-42"


def test_a_staff_member_with_the_erase_permission_may_erase_and_is_named(verified_customer):  # noqa: F811
    customer, secrets = verified_customer()
    response = erase(staff_client("dpo", "erase_customer"), customer.pk)
    assert response.status_code == 200, response.content
    assert personal_data_left(secrets) == []
    assert AuditEvent.objects.get(action="customer.erased").actor.username == "dpo"


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("anonymous", 401, "not_authenticated"),
        ("revoked staff key", 401, "authentication_failed"),
        ("read key", 403, "insufficient_scope"),
        ("read+write key", 403, "insufficient_scope"),
        ("staff member without the permission", 403, "permission_denied"),
        # Not staff: the API does not know them at all (only staff sessions authenticate).
        ("non-staff user with the permission", 401, "not_authenticated"),
    ],
)
def test_who_may_not_erase_erases_nothing(who, status, code):
    customer = Customer.objects.create(external_ref="KEEP-9", first_name="Philippa", email="p@example.org")
    if who == "anonymous":
        client = APIClient()
    elif who == "revoked staff key":
        client, key = key_client("staff")
        api_key_revoke(api_key=key)
    elif who == "read key":
        client, _ = key_client("read")
    elif who == "read+write key":
        client, _ = key_client("read", "write")
    elif who == "staff member without the permission":
        client = staff_client("analyst", "view_customer", "change_customer", "review_case")
    else:
        user = User.objects.create_user("outsider", password="pw-outsider-1234")
        user.user_permissions.add(Permission.objects.get(codename="erase_customer"))
        client = APIClient()
        client.force_login(user)

    response = erase(client, customer.pk)

    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    customer.refresh_from_db()
    assert customer.erased_at is None and customer.first_name == "Philippa"
    assert not AuditEvent.objects.filter(action="customer.erased").exists()


@pytest.mark.parametrize(
    "body", [{}, {"request_ref": ""}, {"request_ref": "   "}, {"request_ref": 42}, {"request_ref": "x" * 101}]
)
def test_the_request_reference_is_required(body):
    customer = Customer.objects.create(external_ref="KEEP-10", first_name="Philippa")
    client, _ = key_client("staff")
    response = erase(client, customer.pk, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and "request_ref" in error["fields"]
    assert Customer.objects.get(pk=customer.pk).erased_at is None


def test_an_unknown_customer_is_a_404():
    client, _ = key_client("staff")
    response = erase(client, 987654)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_erasing_again_is_safe_and_an_idempotency_key_replays_the_first_answer():
    customer = Customer.objects.create(
        external_ref="AGAIN-1", first_name="Philippa", date_of_birth=dt.date(1990, 1, 2)
    )
    client, _ = key_client("staff")
    first = erase(client, customer.pk, HTTP_IDEMPOTENCY_KEY="erase-again-1")
    replay = erase(client, customer.pk, HTTP_IDEMPOTENCY_KEY="erase-again-1")
    again = erase(client, customer.pk, {"request_ref": "DSR-42-retry"})

    assert first.status_code == replay.status_code == again.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == first.json()
    assert first.json()["already_erased"] is False and again.json()["already_erased"] is True
    assert again.json()["erased_at"] == first.json()["erased_at"]
    assert AuditEvent.objects.filter(action="customer.erased").count() == 1
    # The erasure's own record stays (it holds no personal data): that is what replays.
    assert IdempotencyRecord.objects.filter(key="erase-again-1").exists()


def test_erasure_forgets_the_stored_responses_of_staff_decisions_on_the_customer():
    """A review's stored response holds its free-text note, which erasure blanks in the review."""

    customer = Customer.objects.create(external_ref="NOTE-1", first_name="Philippa")
    other = Customer.objects.create(external_ref="NOTE-2", first_name="Keep")
    analyst = APIClient()
    analyst.force_login(make_staff("alice", "Analyst"))
    reason = ReviewReason.objects.get(code="provider-concern-resolved").pk
    for index, target in enumerate((customer, other)):
        case = decide(SessionFactory(customer=target), "declined")
        response = analyst.post(
            f"/api/v1/staff/cases/{case.reference}/reviews/",
            {"outcome": "approve", "reason": reason, "note": "Rang Philippa on +44 7700 900123."},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"review-{index}",
        )
        assert response.status_code == 201, response.content
    assert IdempotencyRecord.objects.filter(key__startswith="review-").count() == 2
    client, _ = key_client("staff")

    assert erase(client, customer.pk).json()["idempotency_records_deleted"] == 1

    assert list(
        IdempotencyRecord.objects.filter(key__startswith="review-").values_list("key", flat=True)
    ) == ["review-1"]
    # What is left is the other customer's (the note's review and its stored response).
    assert {line.split(":")[0] for line in personal_data_left({"7700 900123"})} == {
        "Review",
        "IdempotencyRecord",
    }
    assert not Review.objects.filter(customer=customer).exclude(note="[erased]").exists()
