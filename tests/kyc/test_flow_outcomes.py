"""The end-user flow after each outcome: the reason in plain words on the same session after a
resubmission request, a new session after expired/abandoned/declined when policy allows, the
right words when it does not, translated pages, no personal data in URLs."""

import datetime as dt
import re

import pytest
import responses
from django.utils import timezone

from kyc.links import start_token
from kyc.models import ProviderDecision, VerificationSession
from kyc.services import customers
from tests.api.conftest import veriff_created
from tests.providers_config import veriff_options

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def veriff(settings):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(
            f"{veriff_options(settings).api_url}/sessions",
            **veriff_created(settings, "aaaaaaaa-2222-4333-8444-555555555555"),
        )
        yield mock


def ended(customer, status, reason_code=""):
    session = VerificationSession.objects.create(
        customer=customer,
        provider="veriff",
        provider_session_id=f"old-{status}",
        status=status,
        hosted_url="https://magic.veriff.me/v/old",
    )
    if status in ("declined", "resubmission_requested"):
        ProviderDecision.objects.create(
            session=session,
            dedupe_key=f"d-{status}",
            status=status,
            provider_status=status,
            reason="Known fraud." if status == "declined" else "Poor image quality.",
            reason_code=reason_code,
            applied=True,
        )
    customers.customer_refresh_kyc_status(customer=customer)
    return session


def test_resubmission_shows_the_reason_in_plain_words_and_the_same_session_url(client, customer):
    session = ended(customer, "resubmission_requested", "202")
    page = client.get(f"/verify/return/{session.reference}/").content.decode()
    assert "Your face was not clearly visible" in page
    assert 'href="https://magic.veriff.me/v/old"' in page
    # It follows the status (the user may return from the new attempt before its webhooks), by
    # script only: no reload while the reason is being read.
    assert "poll.js" in page and 'http-equiv="refresh"' not in page
    # Coming back by the session page leads there too.
    assert client.get(f"/verify/s/{session.reference}/")["Location"] == f"/verify/return/{session.reference}/"


def test_an_unknown_resubmission_reason_gets_the_general_sentence(client, customer):
    session = ended(customer, "resubmission_requested", "299")
    assert (
        "Some photos could not be used" in client.get(f"/verify/return/{session.reference}/").content.decode()
    )


@pytest.mark.parametrize("status", ["expired", "abandoned", "declined"])
def test_after_an_ending_outcome_the_user_can_start_a_new_session(client, customer, veriff, status):
    old = ended(customer, status, "101")  # a decline the customer can put right (not a fraud code)
    page = client.get(f"/verify/return/{old.reference}/").content.decode()
    assert "Start a new verification" in page
    assert "fraud" not in page.lower()  # never the provider's reason for a decline
    response = client.post(f"/verify/s/{old.reference}/restart/")
    new = VerificationSession.objects.exclude(pk=old.pk).get()
    assert response["Location"] == f"/verify/s/{new.reference}/"
    assert client.get(response["Location"])["Location"].startswith("https://magic.veriff.me/v/token-aaaaaaaa")


def test_after_a_decline_without_restart_policy_the_user_is_told_to_contact_support(
    client, customer, settings
):
    settings.KYC_RESTART_AFTER_DECLINE = False
    old = ended(customer, "declined", "106")
    page = client.get(f"/verify/return/{old.reference}/").content.decode()
    assert "Start a new verification" not in page and "contact our support team" in page
    response = client.post(f"/verify/start/{start_token(customer.pk)}/")
    assert response.status_code == 200 and b"contact our support team" in response.content
    response = client.post(f"/verify/s/{old.reference}/restart/")
    assert b"contact our support team" in response.content
    assert VerificationSession.objects.count() == 1


def test_after_a_fraud_decline_the_user_cannot_start_again_and_is_told_to_contact_support(
    client, customer, veriff
):
    old = ended(customer, "declined", "106")
    page = client.get(f"/verify/return/{old.reference}/").content.decode()
    assert "Start a new verification" not in page and "contact our support team" in page
    assert "fraud" not in page.lower()
    response = client.post(f"/verify/s/{old.reference}/restart/")
    assert b"contact our support team" in response.content
    response = client.post(f"/verify/start/{start_token(customer.pk)}/")
    assert b"contact our support team" in response.content
    assert VerificationSession.objects.count() == 1


def test_a_verified_customer_is_not_started_again(client, customer):
    ended(customer, "approved")
    response = client.post(f"/verify/start/{start_token(customer.pk)}/")
    assert b"already verified" in response.content and VerificationSession.objects.count() == 1


def test_an_unfinished_session_past_the_providers_lifetime_offers_a_new_one(client, customer, veriff):
    old = ended(customer, "started")
    VerificationSession.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    assert client.get(f"/verify/s/{old.reference}/")["Location"] == f"/verify/return/{old.reference}/"
    page = client.get(f"/verify/return/{old.reference}/").content.decode()
    assert "has expired" in page and "Start a new verification" in page


def test_an_old_session_page_leads_to_the_newer_session(client, customer, veriff):
    old = ended(customer, "started")
    VerificationSession.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    client.post(f"/verify/start/{start_token(customer.pk)}/")
    new = VerificationSession.objects.exclude(pk=old.pk).get()
    assert client.get(f"/verify/return/{old.reference}/")["Location"] == f"/verify/s/{new.reference}/"


def test_pages_are_translated_and_english_by_default(client, customer):
    token = start_token(customer.pk)
    assert b"Start verification" in client.get(f"/verify/start/{token}/").content
    german = client.get(f"/verify/start/{token}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert 'lang="de"' in german and "Verifizierung starten" in german
    # The language chooser keeps the user on the page they were on.
    response = client.post("/i18n/setlang/", {"language": "de", "next": f"/verify/start/{token}/"})
    assert response["Location"] == f"/verify/start/{token}/"
    assert "Verifizierung starten" in client.get(f"/verify/start/{token}/").content.decode()


def test_every_form_control_has_a_label(client, customer):
    page = client.get(f"/verify/start/{start_token(customer.pk)}/").content.decode()
    for control_id in re.findall(r'<select id="([^"]+)"', page):
        assert f'<label for="{control_id}">' in page
    assert 'class="skip" href="#main"' in page and 'id="main"' in page


def test_no_personal_data_in_any_flow_url(client, customer, veriff):
    urls = [f"/verify/start/{start_token(customer.pk)}/"]
    response = client.post(urls[0])
    urls += [response["Location"], client.get(response["Location"])["Location"]]
    for url in urls:
        for personal in (customer.first_name, customer.last_name, customer.email, customer.external_ref):
            assert personal not in url
