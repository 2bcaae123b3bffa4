"""Solaris through the whole app, against the sandbox in-process: the API starts a verification
there, reconciliation picks up a decision whose notification was lost (with IDnow's documents
stored), the case page shows a provisional verdict as such, and retention treats Solaris's
evidence like any other."""

import datetime as dt
import hashlib

import pytest
from django.core.files.storage import default_storage
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from api.services import api_key_create
from kyc.models import Media, ProviderAccount, ProviderDecision, ScreeningResult, VerificationSession
from kyc.operations.person_updates import person_update_apply
from kyc.operations.reconcile import reconcile
from kyc.operations.retention import retention_purge
from providers.base import PERSON_CHANGED, PersonUpdate
from tests.kyc.conftest import make_staff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(db):
    _, raw = api_key_create(name="frontend", scopes=["read", "write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def start(api, customer):
    response = api.post(
        f"/api/v1/customers/{customer.pk}/verifications/", {"provider": "solaris"}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_the_api_starts_a_solaris_identification(api, customer, solaris_sandbox):
    body = start(api, customer)

    session = VerificationSession.objects.get()
    assert body["provider"] == "solaris" and session.provider == "solaris"
    # The API's provider_session_id is the identification's id, which the sandbox's control takes.
    assert body["provider_session_id"] == session.provider_session_id
    assert session.provider_session_id.endswith("cidt")
    assert body["hosted_url"].startswith(f"{solaris_sandbox.base_url}/idnow/identifications/")
    account = ProviderAccount.objects.get(customer=customer, provider="solaris")
    shown = solaris_sandbox.control("GET", f"/identifications/{body['provider_session_id']}")[
        "identification"
    ]
    assert shown["person_id"] == account.provider_person_id
    assert shown["reference"] == str(session.reference) and shown["status"] == "pending"


def test_a_second_verification_reuses_the_customers_solaris_person(api, customer, solaris_sandbox):
    first = start(api, customer)
    VerificationSession.objects.filter(provider_session_id=first["provider_session_id"]).update(
        status="expired"
    )

    second = start(api, customer)

    person_ids = {
        solaris_sandbox.control("GET", f"/identifications/{b['provider_session_id']}")["identification"][
            "person_id"
        ]
        for b in (first, second)
    }
    assert len(person_ids) == 1 and second["provider_session_id"] != first["provider_session_id"]


def test_reconciliation_picks_up_a_decision_whose_notification_was_lost(api, customer, solaris_sandbox):
    body = start(api, customer)
    # No webhook subscription: the sandbox's IDENTIFICATION notifications reach no one.
    solaris_sandbox.outcome(body["provider_session_id"], "successful")
    session = VerificationSession.objects.get()
    assert session.status == "created"

    report = reconcile(now=timezone.now() + dt.timedelta(hours=1))

    session.refresh_from_db()
    assert report.polled == 1 and session.status == "approved"
    decision = ProviderDecision.objects.get(session=session, applied=True)
    assert decision.provider_status == "successful"
    # IDnow's files were listed and downloaded, byte for byte.
    person_id = ProviderAccount.objects.get(customer=customer).provider_person_id
    media = list(Media.objects.filter(session=session).order_by("context"))
    assert [m.context for m in media] == ["document-back", "document-front", "face", "report"]
    for row in media:
        expected = solaris_sandbox.document_bytes(person_id, row.provider_media_id)
        assert row.sha256 == hashlib.sha256(expected).hexdigest()
        with default_storage.open(row.file.name) as stored:
            assert hashlib.sha256(stored.read()).hexdigest() == row.sha256


def test_the_case_page_shows_a_pending_verdict_as_provisional(api, customer, solaris_sandbox):
    body = start(api, customer)
    solaris_sandbox.outcome(body["provider_session_id"], "pending_successful")
    reconcile(now=timezone.now() + dt.timedelta(hours=1))
    session = VerificationSession.objects.get()
    assert session.status == "submitted"

    staff = Client()
    staff.force_login(make_staff("alice", "Analyst"))
    page = staff.get(f"/admin/kyc/case/{session.pk}/change/").content.decode()

    assert "pending successful (provisional)" in page


def test_retention_deletes_solaris_evidence_like_any_other(api, customer, solaris_sandbox, settings):
    body = start(api, customer)
    solaris_sandbox.outcome(body["provider_session_id"], "failed")
    reconcile(now=timezone.now() + dt.timedelta(hours=1))
    stored = [m.file.name for m in Media.objects.all()]
    assert len(stored) == 4 and all(default_storage.exists(name) for name in stored)

    later = timezone.now() + dt.timedelta(days=settings.KYC_RETENTION_MEDIA_DAYS + 1)
    report = retention_purge(now=later)

    assert report.files_deleted == 4
    assert not any(default_storage.exists(name) for name in stored)


def test_a_provisional_verdict_then_the_final_one_walk_the_session_legally(api, customer, solaris_sandbox):
    body = start(api, customer)
    session = VerificationSession.objects.get()
    for outcome, status, hours in (("pending_successful", "submitted", 1), ("successful", "approved", 2)):
        solaris_sandbox.outcome(body["provider_session_id"], outcome)
        reconcile(now=timezone.now() + dt.timedelta(hours=hours))
        session.refresh_from_db()
        assert session.status == status, outcome

    decisions = ProviderDecision.objects.filter(session=session).order_by("id")
    assert [d.provider_status for d in decisions] == ["pending_successful", "successful"]
    assert decisions.last().applied


def test_a_person_changed_to_a_potential_match_holds_the_customer_for_review(api, customer, solaris_sandbox):
    body = start(api, customer)
    solaris_sandbox.outcome(body["provider_session_id"], "successful")
    reconcile(now=timezone.now() + dt.timedelta(hours=1))
    customer.refresh_from_db()
    assert customer.kyc_status == "verified"
    person_id = ProviderAccount.objects.get(customer=customer).provider_person_id
    solaris_sandbox.control(
        "POST", f"/persons/{person_id}/changed", {"screening_progress": "POTENTIAL_MATCH"}
    )

    # What a PERSON_CHANGED notification becomes (it says only "changed"): the person is read again.
    with transaction.atomic():
        person_update_apply(
            provider="solaris",
            update=PersonUpdate(provider_person_id=person_id, kind=PERSON_CHANGED, dedupe_key="solaris:w-1"),
        )

    [hit] = ScreeningResult.objects.filter(customer=customer)
    assert hit.source == "solaris:person" and hit.provider == "solaris"
    customer.refresh_from_db()
    assert customer.kyc_status == "in_review"
