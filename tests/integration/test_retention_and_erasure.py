"""Retention and erasure on the real stack: a customer verified end to end (files on the served
app's disk, decisions and webhooks in PostgreSQL); the purge and the erasure leave no file and no
personal field behind, keep the minimal record, and the audit trail stays valid (verify_audit)."""

import datetime as dt

import pytest
import requests
from django.apps import apps
from django.core import serializers
from django.core.management import call_command, get_commands
from django.utils import timezone

from api.models import IdempotencyRecord
from api.services import api_key_create
from kyc.models import AuditEvent, Customer, Media, ProviderDecision, VerificationSession
from kyc.services import customers as kyc_customers
from tests.support.veriff import evidence_files, media_stored, provider_media, session_in
from webhooks.models import InboundEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def verified(end_user, ref: str, first: str, last: str, dob: dt.date):
    customer = kyc_customers.customer_create(
        external_ref=ref,
        first_name=first,
        last_name=last,
        email=f"{first.lower()}@example.org",
        date_of_birth=dob,
    )
    session = end_user.start(customer.pk)
    end_user.choose(end_user.wait_for_hosted_url(session), "approve")
    session = session_in(session.pk, "approved")
    media_stored(session, {m.provider_media_id for m in provider_media(session.provider_session_id)})
    document_number = ProviderDecision.objects.get(session=session).document["number"]
    return customer, session, {first, last, customer.email, dob.isoformat(), document_number}


def personal_data_left(values: set[str]) -> list[str]:
    found = []
    for label in ("kyc", "webhooks", "api", "notifications"):
        for model in apps.get_app_config(label).get_models():
            dump = serializers.serialize("json", model.objects.all())
            found += [f"{model.__name__}: {v}" for v in values if v in dump]
    for body in InboundEvent.objects.values_list("body", flat=True):
        found += [f"InboundEvent.body: {v}" for v in values if v in bytes(body).decode("utf-8", "replace")]
    return found


def audit_rows() -> list[dict]:
    return list(AuditEvent.objects.order_by("id").values())


def assert_audit_valid(before: list[dict]) -> None:
    assert audit_rows()[: len(before)] == before  # nothing earlier changed
    if "verify_audit" in get_commands():  # the hash chain (issue 3), where it exists
        call_command("verify_audit")


def test_erasure_leaves_no_file_and_no_personal_field(end_user, settings):
    customer, session, personal = verified(
        end_user, "IT-ERASE", "Ottilie", "Vandermeer", dt.date(1980, 2, 29)
    )
    _, kept_session, kept_personal = verified(
        end_user, "IT-KEEP", "Barnaby", "Fitzwilliam", dt.date(1975, 6, 1)
    )
    assert evidence_files(session) and personal_data_left(personal)
    before = audit_rows()

    call_command("erase_customer", "IT-ERASE", "--request-ref", "DSR-2026-1")

    assert evidence_files(session) == [] and personal_data_left(personal) == []
    assert evidence_files(kept_session) and personal_data_left(kept_personal)
    customer.refresh_from_db()
    assert customer.erased_at and customer.external_ref == "IT-ERASE"
    assert set(Media.objects.filter(session=session).values_list("state", flat=True)) == {"purged"}
    assert ProviderDecision.objects.get(session=session).code == 9001
    assert_audit_valid(before)
    assert AuditEvent.objects.filter(action="customer.erased", customer_id=customer.pk).count() == 1


def test_the_purge_after_the_retention_periods_leaves_nothing_personal(end_user, settings):
    customer, session, personal = verified(
        end_user, "IT-PURGE", "Leocadia", "Brightwater", dt.date(1969, 7, 20)
    )
    long_ago = timezone.now() - dt.timedelta(days=settings.KYC_RETENTION_RECORD_DAYS + 1)
    VerificationSession.objects.filter(pk=session.pk).update(decided_at=long_ago, created_at=long_ago)
    Customer.objects.filter(pk=customer.pk).update(created_at=long_ago, updated_at=long_ago)
    before = audit_rows()

    call_command("purge")

    assert evidence_files(session) == [] and personal_data_left(personal) == []
    assert ProviderDecision.objects.get(session=session).redacted_at is not None
    assert_audit_valid(before)


def test_erasure_through_the_api_also_forgets_the_stored_api_responses(end_user, live_stack):
    """Over HTTP on PostgreSQL: the customer created with an Idempotency-Key (its stored response
    holds the name and email), verified, then erased by a `staff` key."""
    _, writer = api_key_create(name="it backend", scopes=["read", "write"])
    _, eraser = api_key_create(name="it dpo tool", scopes=["staff"])
    base = live_stack.base_url
    created = requests.post(
        f"{base}/api/v1/customers/",
        json={
            "external_ref": "IT-API-ERASE",
            "first_name": "Clementine",
            "last_name": "Ashdown",
            "email": "clementine@example.org",
            "date_of_birth": "1982-08-08",
        },
        headers={"Authorization": f"Api-Key {writer}", "Idempotency-Key": "it-create-clementine"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    customer = Customer.objects.get(external_ref="IT-API-ERASE")
    session = end_user.start(customer.pk)
    end_user.choose(end_user.wait_for_hosted_url(session), "approve")
    session = session_in(session.pk, "approved")
    media_stored(session, {m.provider_media_id for m in provider_media(session.provider_session_id)})
    number = ProviderDecision.objects.get(session=session).document["number"]
    personal = {"Clementine", "Ashdown", "clementine@example.org", "1982-08-08", number}
    assert {line.split(":")[0] for line in personal_data_left(personal)} >= {"Customer", "IdempotencyRecord"}
    before = audit_rows()

    response = requests.post(
        f"{base}/api/v1/customers/{customer.pk}/erasure/",
        json={"request_ref": "DSR-IT-API"},
        headers={"Authorization": f"Api-Key {eraser}"},
        timeout=60,
    )

    assert response.status_code == 200, response.text
    assert response.json()["idempotency_records_deleted"] == 1
    assert evidence_files(session) == [] and personal_data_left(personal) == []
    assert not IdempotencyRecord.objects.filter(key="it-create-clementine").exists()
    assert_audit_valid(before)
    erased = AuditEvent.objects.get(action="customer.erased", customer_id=customer.pk)
    assert erased.actor_label.startswith("api-key:") and erased.after["request_ref"] == "DSR-IT-API"
