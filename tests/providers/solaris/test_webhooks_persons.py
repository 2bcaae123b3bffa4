"""Person events end to end in one process: the sandbox's control call → its signed notification →
our /webhooks/solaris/ → the stored event processed → the customer erased or held for review
(providers/solaris/README.md, "Bodies"; kyc/operations/person_updates.py)."""

import io

import pytest
from django.core.management import call_command

from kyc import status as st
from kyc.models import AuditEvent, ProviderAccount, ScreeningResult
from kyc.services.accounts import provider_account_record
from providers.solaris.models import WebhookSubscription
from tests.factories import SessionFactory
from tests.providers.solaris.hooks_support import (
    delivery_headers,
    eager_tasks,  # noqa: F401 (autouse fixture)
    network_fixture,  # noqa: F401 (the `network` fixture)
    post_delivery,
    solaris,
)
from webhooks.models import InboundEvent


@pytest.fixture
def solaris_customer(network, customer):
    """Our customer, known at the sandbox as a person with an identification session of ours."""
    call_command("solaris_webhooks", "sync", stdout=io.StringIO())
    person = network.person()
    session = SessionFactory(
        customer=customer,
        provider="solaris",
        provider_session_id="9dfe2f4edaa67138be0c0c1cd3a7d849cidt",
        hosted_url="https://go.test.idnow.de/",
        status=st.STARTED,
    )
    provider_account_record(customer_id=customer.pk, provider="solaris", provider_person_id=person)
    return customer, session, person


def test_person_deleted_erases_our_customer_at_once_audited_keeping_the_aml_minimum(
    network, solaris_customer
):
    customer, session, person = solaris_customer
    assert network.control("POST", f"/persons/{person}/deleted").status_code == 200
    [delivery] = network.deliveries(event_type="PERSON_DELETED")
    assert delivery["state"] == "delivered"
    assert InboundEvent.objects.get(authenticated=True).state == InboundEvent.State.PROCESSED
    customer.refresh_from_db()
    assert customer.erased_at is not None
    assert (customer.first_name, customer.last_name, customer.email) == ("", "", "")
    # The minimal legal record stays: who (our reference), where, and what happened to the session.
    assert customer.external_ref == "CUST-1" and customer.country == "GB"
    session.refresh_from_db()
    assert session.status == st.ABANDONED
    assert ProviderAccount.objects.get(customer=customer).deleted_at is not None
    actions = set(AuditEvent.objects.filter(customer_id=customer.pk).values_list("action", flat=True))
    assert {"customer.provider_person_deleted", "customer.erased"} <= actions
    # Solaris sending it again changes nothing more.
    erased_at = customer.erased_at
    network.control("POST", "/deliveries/send-due", {"all": True})
    customer.refresh_from_db()
    assert customer.erased_at == erased_at
    assert AuditEvent.objects.filter(action="customer.provider_person_deleted").count() == 1


def test_a_person_deletion_replayed_for_a_person_solaris_still_has_erases_nothing(network, solaris_customer):
    """PERSON_DELETED's body is `{}` and its person is named by a header the signature does not
    cover: a captured delivery, replayed with our customer's person id, is authentic. Solaris still
    has that person, so nothing is erased; the attempt is in the audit trail."""
    customer, session, person = solaris_customer
    subscription = WebhookSubscription.objects.get(event_type="PERSON_DELETED")
    secret = solaris().seal.open(subscription.sealed_secret)
    headers = delivery_headers(
        b"{}",
        secret,
        event_type="PERSON_DELETED",
        subscription_id=subscription.subscription_id,
        webhook_id="0e5b7d0c-0000-4000-8000-00000000beef",
        entity_id=person,
    )
    with network.capture(execute=True):
        response = post_delivery(network.client, b"{}", headers)
    assert response.status_code == 200
    assert InboundEvent.objects.get(authenticated=True).state == InboundEvent.State.PROCESSED
    customer.refresh_from_db()
    assert customer.erased_at is None and customer.first_name
    session.refresh_from_db()
    assert session.status == st.STARTED
    assert ProviderAccount.objects.get(customer=customer).deleted_at is None
    actions = set(AuditEvent.objects.filter(customer_id=customer.pk).values_list("action", flat=True))
    assert "customer.provider_person_deletion_unconfirmed" in actions
    assert not {"customer.provider_person_deleted", "customer.erased"} & actions


def test_person_changed_to_a_potential_match_holds_the_customer_for_review(network, solaris_customer):
    customer, _session, person = solaris_customer
    changed = network.control("POST", f"/persons/{person}/changed", {"screening_progress": "POTENTIAL_MATCH"})
    assert changed.status_code == 200
    [delivery] = network.deliveries(event_type="PERSON_CHANGED")
    assert delivery["state"] == "delivered"
    assert InboundEvent.objects.get(authenticated=True).state == InboundEvent.State.PROCESSED
    assert ProviderAccount.objects.get(customer=customer).changed_at is not None
    # Held: a screening hit to resolve on the customer.
    assert ScreeningResult.objects.filter(customer=customer, provider="solaris").exists()
