"""Facts about a Solaris person on the live stack: PERSON_DELETED (Solaris erased the person) erases
our personal data of that customer at once, audited, the AML minimum record kept; PERSON_CHANGED
to a potential screening match holds a verified customer for review. Both crossing the socket as
signed notifications from the sandbox's delivery worker to /webhooks/solaris/."""

import datetime as dt

import pytest
from django.core.management import call_command, get_commands

from kyc.models import AuditEvent, Customer, Media, ProviderAccount, ScreeningResult, VerificationSession
from kyc.services import customers, sessions
from tests.integration.test_retention_and_erasure import personal_data_left
from tests.support.servers import wait_until
from tests.support.solaris import provider_session, solaris_person_id
from tests.support.veriff import evidence_files, media_stored, session_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def verified_at_solaris(solaris, ref: str, first: str, last: str, dob: dt.date):
    """A customer whose Solaris identification succeeded, IDnow's files on our disk."""
    customer = customers.customer_create(
        external_ref=ref,
        first_name=first,
        last_name=last,
        email=f"{first.lower()}@example.org",
        date_of_birth=dob,
        country="DE",
    )
    session = sessions.verification_start(
        customer=customer, provider="solaris", actor_label="integration-test"
    )
    session = provider_session(session.pk)
    solaris.outcome(session.provider_session_id, "successful")
    session = session_in(session.pk, "approved")
    media_stored(session, {d["id"] for d in solaris.documents(session.provider_session_id)})
    assert evidence_files(session)
    return Customer.objects.get(pk=customer.pk), session


def test_person_deleted_at_solaris_erases_the_customer_here(solaris_subscribed):
    solaris = solaris_subscribed
    customer, session = verified_at_solaris(
        solaris, "IT-SOLARIS-DELETED", "Wilhelmina", "Oberhauser", dt.date(1979, 11, 2)
    )
    personal = {"Wilhelmina", "Oberhauser", customer.email, "1979-11-02"}
    assert personal_data_left(personal)
    person_id = solaris_person_id(customer.pk)
    audit_before = list(AuditEvent.objects.order_by("id").values())

    solaris.person_deleted(person_id)

    delivered = solaris.wait_delivered(person_id, 1)
    deleted = [d for d in delivered if d["event_type"] == "PERSON_DELETED"]
    assert len(deleted) == 1 and deleted[0]["body"] == "{}"
    customer = wait_until(
        lambda: Customer.objects.filter(pk=customer.pk, erased_at__isnull=False).first(),
        timeout=30,
        message="the customer erased",
    )
    assert personal_data_left(personal) == [] and evidence_files(session) == []
    # The AML minimum record: who (our reference), which verification, what was decided, when.
    assert customer.external_ref == "IT-SOLARIS-DELETED" and customer.country == "DE"
    session = VerificationSession.objects.get(pk=session.pk)
    assert session.status == "approved" and session.decided_at is not None
    decision = session.decisions.get(applied=True)
    assert (decision.status, decision.provider_status) == ("approved", "successful")
    assert set(Media.objects.filter(session=session).values_list("state", flat=True)) == {"purged"}
    assert all(m.sha256 for m in Media.objects.filter(session=session))
    # Audited: Solaris as the actor, the erasure once; the trail before it untouched and valid.
    assert list(AuditEvent.objects.order_by("id").values())[: len(audit_before)] == audit_before
    assert (
        AuditEvent.objects.filter(action="customer.provider_person_deleted", customer_id=customer.pk).count()
        == 1
    )
    erased = AuditEvent.objects.get(action="customer.erased", customer_id=customer.pk)
    assert "solaris" in erased.actor_label
    if "verify_audit" in get_commands():
        call_command("verify_audit")
    # Solaris has no such person any more, and neither do we: a next session makes a new one.
    assert solaris.person(person_id).status_code == 404
    assert ProviderAccount.objects.get(customer=customer, provider="solaris").deleted_at is not None


def test_a_potential_match_after_verification_holds_the_customer_for_review(solaris_subscribed):
    solaris = solaris_subscribed
    customer, session = verified_at_solaris(
        solaris, "IT-SOLARIS-CHANGED", "Konstantin", "Vasquez", dt.date(1966, 5, 23)
    )
    assert customer.kyc_status == "verified"
    person_id = solaris_person_id(customer.pk)
    # IDnow's success screened the person already (SCREENED_ACCEPTED): nothing to hold for.
    solaris.wait_delivered(person_id, 1)
    assert not ScreeningResult.objects.filter(customer=customer).exists()

    changed = solaris.person_changed(person_id, screening_progress="POTENTIAL_MATCH")
    assert changed["screening_progress"] == "POTENTIAL_MATCH"

    wait_until(
        lambda: Customer.objects.get(pk=customer.pk).kyc_status == "in_review",
        timeout=30,
        message="the customer held for review",
    )
    hit = ScreeningResult.objects.get(customer=customer)
    assert (hit.provider, hit.session_id) == ("solaris", session.pk)
    assert AuditEvent.objects.filter(
        action="customer.provider_person_changed", customer_id=customer.pk
    ).exists()
    # Every PERSON_CHANGED was taken (2xx) and read back; none is waiting for a retry.
    assert all(d["state"] == "delivered" for d in solaris.deliveries(entity_id=person_id))
