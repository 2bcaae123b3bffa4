"""Starting and following verifications. Veriff is replaced at the HTTP boundary (responses); the
sandbox drives the real thing in the walk-through and browser tests."""

import json

import pytest
from django.core import signing
from django.test import override_settings

from kyc.links import customer_id_from_token
from kyc.models import ProviderDecision, VerificationSession
from tests.providers_config import veriff_options

pytestmark = pytest.mark.django_db(transaction=True)


def start(api, customer, **body):
    return api.post(f"/api/v1/customers/{customer.pk}/verifications/", body, format="json")


def test_start_returns_the_id_status_and_hosted_url(api, customer, veriff, settings):
    response = start(api, customer)
    assert response.status_code == 201
    body = response.json()
    session = VerificationSession.objects.get()
    assert body["id"] == str(session.reference) and body["status"] == "created" and body["resumed"] is False
    assert body["hosted_url"] == "https://magic.veriff.me/v/token-11111111-2222-4333-8444-555555555555"
    assert body["flow_url"] == f"{settings.KYC_PUBLIC_URL}/verify/s/{session.reference}/"
    sent = json.loads(veriff.calls[0].request.body)["verification"]
    assert sent["vendorData"] == str(session.reference)
    assert api.get(f"/api/v1/verifications/{session.reference}/").json()["hosted_url"] == body["hosted_url"]
    listed = api.get(f"/api/v1/customers/{customer.pk}/verifications/").json()["results"]
    assert [v["id"] for v in listed] == [body["id"]]
    assert api.get(f"/api/v1/verifications/?external_ref={customer.external_ref}").json()["results"] == listed


def test_a_verification_in_progress_is_resumed_not_duplicated(api, customer, veriff):
    first = start(api, customer).json()
    second = start(api, customer)
    assert second.status_code == 200 and second.json()["resumed"] is True
    assert second.json()["id"] == first["id"]
    assert VerificationSession.objects.count() == 1


@pytest.mark.parametrize(
    ("old_status", "restart_after_decline", "expected"),
    [
        ("expired", False, 201),
        ("abandoned", False, 201),
        ("declined", True, 201),
        ("declined", False, 409),
        ("declined_for_fraud", True, 409),
        ("approved", True, 409),
        ("review", True, 409),
    ],
)
def test_start_after_an_outcome_follows_the_policy(
    api, customer, veriff, settings, old_status, restart_after_decline, expected
):
    from kyc.services import customers as kyc_customers

    settings.KYC_RESTART_AFTER_DECLINE = restart_after_decline
    fraud = old_status == "declined_for_fraud"
    old_status = "declined" if fraud else old_status
    old = VerificationSession.objects.create(
        customer=customer, provider="veriff", provider_session_id="o", status=old_status
    )
    if old_status == "declined":  # 101 the customer can put right; 106 waits for a person (issue 12)
        old.decisions.create(
            dedupe_key="d",
            status=old_status,
            provider_status=old_status,
            reason_code="106" if fraud else "101",
            applied=True,
        )
    kyc_customers.customer_refresh_kyc_status(customer=customer)
    response = start(api, customer)
    assert response.status_code == expected, response.content
    if expected == 409:
        assert response.json()["error"]["code"] == "restart_not_allowed"
        assert VerificationSession.objects.count() == 1
    else:
        assert VerificationSession.objects.count() == 2


def test_a_provider_outage_still_answers_with_the_verification(api, customer, settings):
    import responses

    with responses.RequestsMock() as mock:
        mock.post(f"{veriff_options(settings).api_url}/sessions", status=503, json={"status": "fail"})
        response = start(api, customer)
    assert response.status_code == 201
    body = response.json()
    assert body["hosted_url"] is None and body["provider_unavailable"] is True and body["flow_url"]


def test_resubmission_reason_in_plain_words(api, customer):
    session = VerificationSession.objects.create(
        customer=customer, provider="veriff", provider_session_id="s", status="resubmission_requested"
    )
    ProviderDecision.objects.create(
        session=session,
        dedupe_key="d",
        status="resubmission_requested",
        provider_status="resubmission_requested",
        code=9103,
        reason="Poor image quality.",
        reason_code="204",
        applied=True,
    )
    body = api.get(f"/api/v1/verifications/{session.reference}/").json()
    assert body["resubmission"]["reason_code"] == "204"
    assert "not sharp enough" in body["resubmission"]["message"]


def test_a_declined_verification_says_nothing_about_why(api, customer):
    session = VerificationSession.objects.create(
        customer=customer, provider="veriff", provider_session_id="s", status="declined"
    )
    ProviderDecision.objects.create(
        session=session,
        dedupe_key="d",
        status="declined",
        provider_status="declined",
        reason_code="106",
        applied=True,
    )
    body = api.get(f"/api/v1/verifications/{session.reference}/").json()
    assert body["resubmission"] is None and "fraud" not in json.dumps(body).lower()


@override_settings(KYC_LINK_MAX_AGE=3600)
def test_a_signed_start_link(api, customer):
    response = api.post(f"/api/v1/customers/{customer.pk}/verification-links/", format="json")
    assert response.status_code == 201
    url = response.json()["url"]
    token = url.rstrip("/").rsplit("/", 1)[-1]
    assert customer_id_from_token(token) == customer.pk
    assert customer.last_name not in url and customer.email not in url
    with override_settings(KYC_LINK_MAX_AGE=-1), pytest.raises(signing.SignatureExpired):
        customer_id_from_token(token)


def _asked_to_resubmit(customer, number: int, reason_code: str = "204") -> VerificationSession:
    session = VerificationSession.objects.create(
        customer=customer,
        provider="veriff",
        provider_session_id=f"s-{number}",
        status="resubmission_requested",
    )
    ProviderDecision.objects.create(
        session=session,
        dedupe_key=f"d-{number}",
        status="resubmission_requested",
        provider_status="resubmission_requested",
        code=9103,
        reason_code=reason_code,
        applied=True,
    )
    return session


def test_the_list_explains_every_resubmission_without_a_query_per_row(api, customer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _asked_to_resubmit(customer, 1)
    api.get("/api/v1/verifications/")  # the key's first use is written once: not in the counts
    with CaptureQueriesContext(connection) as one:
        api.get("/api/v1/verifications/")
    for number in range(2, 7):
        _asked_to_resubmit(customer, number)
    with CaptureQueriesContext(connection) as six:
        body = api.get("/api/v1/verifications/").json()
    assert len(body["results"]) == 6
    assert {r["resubmission"]["reason_code"] for r in body["results"]} == {"204"}
    assert len(six.captured_queries) == len(one.captured_queries)


def test_start_with_a_named_provider_uses_it_and_without_one_the_default(api, customer, settings):
    from providers.registry import get_provider
    from tests.fake_provider import DOTTED
    from tests.providers_config import with_provider

    with_provider(settings, "tiny", DOTTED)
    settings.KYC_DEFAULT_PROVIDER = "tiny"
    response = start(api, customer)
    assert response.status_code == 201 and response.json()["provider"] == "tiny"
    session = VerificationSession.objects.get()
    assert session.provider == "tiny" and session.provider_session_id == f"tiny-{session.reference}"
    assert [r.reference for r in get_provider("tiny").created] == [str(session.reference)]
    VerificationSession.objects.filter(pk=session.pk).update(status="expired")
    response = start(api, customer, provider="tiny")
    assert response.status_code == 201 and response.json()["provider"] == "tiny"


@pytest.mark.parametrize("name", ["solaris", "", 7])
def test_start_with_an_unknown_or_disabled_provider_is_a_400_that_names_the_enabled_ones(
    api, customer, settings, name
):
    from tests.fake_provider import DOTTED
    from tests.providers_config import with_provider

    # Solaris is known but not enabled here (development enables it beside Veriff).
    settings.KYC_PROVIDERS = {k: v for k, v in settings.KYC_PROVIDERS.items() if k != "solaris"}
    with_provider(settings, "tiny", DOTTED)
    response = start(api, customer, provider=name)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    [message] = error["fields"]["provider"]
    enabled = ", ".join(settings.KYC_PROVIDERS)
    assert "solaris" not in enabled
    assert "not an enabled provider" in message and f"Enabled: {enabled}." in message
    assert not VerificationSession.objects.exists()
