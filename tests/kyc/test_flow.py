"""The end-user redirect flow: signed links, waiting and retry pages, resume, restart. Veriff is
replaced at the HTTP boundary (responses) to inject outages; the sandbox drives the happy path in
tests/integration and tests/kyc/test_in_process.py."""

import json
import re

import pytest
import requests
import responses
from django.core import signing
from django.test import override_settings

from kyc.links import start_token, start_url
from kyc.models import VerificationSession
from tests.providers_config import veriff_options
from tests.support.veriff import session_created_response

pytestmark = pytest.mark.django_db(transaction=True)


def created_response(settings, session_id="11111111-2222-4333-8444-555555555555"):
    return session_created_response(session_id)


@pytest.fixture
def veriff(settings):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def sessions_url(settings):
    return f"{veriff_options(settings).api_url}/sessions"


def start(client, customer):
    token = start_token(customer.pk)
    page = client.get(f"/verify/start/{token}/")
    assert page.status_code == 200 and b"Start verification" in page.content
    return client.post(f"/verify/start/{token}/")


def test_start_creates_a_session_and_sends_the_user_to_the_provider(client, customer, settings, veriff):
    veriff.post(sessions_url(settings), **created_response(settings))
    response = start(client, customer)
    session = VerificationSession.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/verify/s/{session.reference}/"
    response = client.get(response["Location"])
    assert response.status_code == 302 and response["Location"] == session.hosted_url
    sent = json.loads(veriff.calls[0].request.body)["verification"]
    assert sent["vendorData"] == str(session.reference)
    assert sent["callback"] == f"{settings.KYC_PUBLIC_URL}/verify/return/{session.reference}/"
    assert sent["person"] == {"firstName": "Sarah", "lastName": "Morgan"}
    # No personal data in any URL we hand out.
    assert "Sarah" not in response["Location"] and "Morgan" not in start_url(customer.pk)


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500, "json": {"status": "fail", "message": "Internal"}},
        {"body": requests.ConnectTimeout("timed out")},
        {"body": requests.ConnectionError("refused")},
    ],
)
def test_provider_outage_shows_a_retry_page_and_retry_succeeds_after_recovery(
    client, customer, settings, veriff, fault
):
    veriff.post(sessions_url(settings), **fault)
    response = start(client, customer)
    page = client.get(response["Location"])
    assert page.status_code == 503
    assert b"Try again" in page.content
    session = VerificationSession.objects.get()
    assert session.provider_error and not session.provider_error_permanent
    assert client.get(f"/verify/s/{session.reference}/status/").json()["provider_unavailable"] is True

    veriff.replace(responses.POST, sessions_url(settings), **created_response(settings))
    response = client.post(f"/verify/s/{session.reference}/retry/")
    response = client.get(response["Location"])
    assert response.status_code == 302 and response["Location"].startswith("https://magic.veriff.me/v/")
    assert VerificationSession.objects.count() == 1


def test_a_provider_refusal_shows_a_page_without_retry(client, customer, settings, veriff):
    veriff.post(
        sessions_url(settings),
        status=400,
        json={"status": "fail", "code": "1102", "message": "Mandatory parameters are missing"},
    )
    response = start(client, customer)
    page = client.get(response["Location"])
    assert page.status_code == 503 and b"Try again" not in page.content
    assert VerificationSession.objects.get().provider_error_permanent is True


def test_a_slow_provider_gets_a_waiting_page_that_polls(client, customer, settings):
    # Broker-less development runs tasks inline; here the task has simply not run yet.
    session = VerificationSession.objects.create(customer=customer, provider="veriff")
    page = client.get(f"/verify/s/{session.reference}/")
    assert page.status_code == 200
    assert b"Preparing your verification" in page.content and b'http-equiv="refresh"' in page.content
    assert client.get(f"/verify/s/{session.reference}/status/").json() == {
        "status": "created",
        "ready": False,
        "final": False,
        "provider_unavailable": False,
    }


def test_a_disrupted_session_resumes_instead_of_starting_again(client, customer, settings, veriff):
    veriff.post(sessions_url(settings), **created_response(settings))
    first = start(client, customer)
    second = start(client, customer)
    assert first["Location"] == second["Location"]
    assert VerificationSession.objects.count() == 1 and len(veriff.calls) == 1


@pytest.mark.parametrize(
    ("status", "new_session"),
    [
        ("resubmission_requested", False),
        ("started", False),
        ("declined", True),
        ("expired", True),
        ("abandoned", True),
    ],
)
def test_start_after_an_outcome(client, customer, settings, veriff, status, new_session):
    veriff.post(sessions_url(settings), **created_response(settings, "aaaaaaaa-2222-4333-8444-555555555555"))
    old = VerificationSession.objects.create(
        customer=customer,
        provider="veriff",
        provider_session_id="old",
        status=status,
        hosted_url="https://magic.veriff.me/v/old",
    )
    if status == "declined":  # for a reason the customer can put right (issue 12, rule 1)
        old.decisions.create(
            dedupe_key="d", status=status, provider_status=status, reason_code="101", applied=True
        )
    response = client.get(start(client, customer)["Location"])
    if status == "resubmission_requested":
        # Back to the same session, after a page that says why (tests/kyc/test_flow_outcomes.py).
        old = VerificationSession.objects.get(provider_session_id="old")
        assert response["Location"] == f"/verify/return/{old.reference}/"
        response = client.get(response["Location"])
        assert b'href="https://magic.veriff.me/v/old"' in response.content
    else:
        expected = (
            "https://magic.veriff.me/v/token-aaaaaaaa" if new_session else "https://magic.veriff.me/v/old"
        )
        assert response["Location"].startswith(expected)
    assert VerificationSession.objects.count() == (2 if new_session else 1)


def test_a_session_past_the_providers_lifetime_is_not_resumed(client, customer, settings, veriff):
    from datetime import timedelta

    from django.utils import timezone

    veriff.post(sessions_url(settings), **created_response(settings))
    old = VerificationSession.objects.create(
        customer=customer,
        provider="veriff",
        provider_session_id="old",
        status="started",
        hosted_url="https://magic.veriff.me/v/old",
    )
    VerificationSession.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=7, minutes=1)
    )
    start(client, customer)
    assert VerificationSession.objects.count() == 2


@override_settings(KYC_LINK_MAX_AGE=-1)
def test_an_expired_link_is_refused(client, customer):
    assert client.get(f"/verify/start/{start_token(customer.pk)}/").status_code == 404


def test_a_tampered_link_is_refused(client, customer):
    token = start_token(customer.pk)
    forged = signing.dumps({"c": customer.pk + 1}, salt="another-salt", compress=True)
    tampered = token[:-2] + ("yy" if token.endswith("xx") else "xx")
    assert client.get(f"/verify/start/{tampered}/").status_code == 404
    assert client.get(f"/verify/start/{forged}/").status_code == 404


@pytest.mark.parametrize(
    ("status", "text", "polls"),
    [
        ("submitted", b"checking your documents", True),
        ("approved", b"You are verified", False),
        ("declined", b"could not verify", False),
        ("resubmission_requested", b"try again", True),
    ],
)
def test_return_page_shows_the_status_and_follows_it_until_conclusive(client, customer, status, text, polls):
    session = VerificationSession.objects.create(
        customer=customer, provider="veriff", status=status, hosted_url="https://magic.veriff.me/v/x"
    )
    page = client.get(f"/verify/return/{session.reference}/")
    assert page.status_code == 200 and text in page.content
    assert (b"poll.js" in page.content) is polls
    if status == "resubmission_requested":
        assert b'href="https://magic.veriff.me/v/x"' in page.content  # back to the same session URL
    assert not re.search(rb"Sarah|Morgan|sarah@", page.content)


@pytest.mark.parametrize(("status", "to_provider"), [("started", True), ("submitted", False)])
def test_the_session_link_leads_back_into_the_provider_only_while_the_user_has_something_to_do(
    client, customer, status, to_provider
):
    # Submitted: the provider is deciding, and its hosted flow has nothing more for the user
    # (IDnow's last page has no way back to us): the return page follows the result instead.
    session = VerificationSession.objects.create(
        customer=customer,
        provider="veriff",
        status=status,
        provider_session_id="11111111-2222-4333-8444-555555555555",
        hosted_url="https://magic.veriff.me/v/x",
    )
    response = client.get(f"/verify/s/{session.reference}/")
    assert response.status_code == 302
    expected = session.hosted_url if to_provider else f"/verify/return/{session.reference}/"
    assert response["Location"] == expected


@pytest.mark.parametrize(
    ("kyc_status", "words"),
    [("verified", b"already verified"), ("in_review", b"being reviewed")],
)
def test_a_customer_with_nothing_to_start_is_told_so_not_invited_to_start(
    client, customer, kyc_status, words
):
    """Issue 12, glitches: a verified customer opening their link was shown "Start verification"."""
    type(customer).objects.filter(pk=customer.pk).update(kyc_status=kyc_status)
    page = client.get(f"/verify/start/{start_token(customer.pk)}/")
    assert page.status_code == 200
    assert b"Start verification" not in page.content and words in page.content
    assert VerificationSession.objects.count() == 0
