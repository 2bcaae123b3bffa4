"""A provider that points at its sandbox or lacks credentials is refused outside development
(KYC_ALLOW_SANDBOX_PROVIDERS off): the sandbox's key and secret are published in the repository,
so a webhook signed with them proves nothing, and a call to the sandbox is no verification.
Start-up (`manage.py check`, gunicorn) is covered in tests/test_security_settings.py."""

import pytest
import responses

from kyc.models import VerificationSession
from kyc.services import provider_sessions, sessions
from providers.base import ProviderNotConfigured
from providers.registry import get_provider
from providers.veriff import VeriffProvider, signing
from providers.veriff.sandbox import credentials as sandbox
from tests.factories import SessionFactory
from tests.providers_config import veriff_options, with_options
from tests.webhooks.test_veriff_webhooks import decision_body
from webhooks.models import InboundEvent

REAL = {
    "api_url": "https://stationapi.veriff.com/v1",
    "api_key": "0b5a1c9e-6c3d-4c57-9a0e-3c1b2d4e5f60",
    "api_secret": "a-real-integration-secret",
    "previous_secrets": [],
}


@pytest.fixture
def production(settings):
    """Development settings (the sandbox's URL and credentials) without the opt-in."""
    settings.KYC_ALLOW_SANDBOX_PROVIDERS = False
    return settings


def sandbox_signed_decision(settings, session_id: str) -> tuple[bytes, dict[str, str]]:
    body = decision_body(session_id)
    headers = signing.signature_headers(
        body, sandbox.API_KEY, sandbox.API_SECRET, veriff_options(settings).signature_scheme
    )
    return body, headers


@pytest.mark.django_db
def test_a_webhook_signed_with_the_sandbox_secret_is_refused_in_production(client, production):
    session = SessionFactory()
    body, headers = sandbox_signed_decision(production, session.provider_session_id)
    response = client.post(
        "/webhooks/veriff/decision/", data=body, content_type="application/json", headers=headers
    )
    assert response.status_code == 503  # the provider delivers it again once configured
    assert response.json() == {"status": "fail", "message": "temporarily unavailable"}
    assert not InboundEvent.objects.exists()
    session.refresh_from_db()
    assert session.status != "approved"


@pytest.mark.django_db
@pytest.mark.usefixtures("veriff_without_media")
def test_with_the_staging_opt_in_the_sandbox_signed_webhook_is_accepted(client, settings):
    settings.KYC_ALLOW_SANDBOX_PROVIDERS = True
    session = SessionFactory()
    body, headers = sandbox_signed_decision(settings, session.provider_session_id)
    response = client.post(
        "/webhooks/veriff/decision/", data=body, content_type="application/json", headers=headers
    )
    assert response.status_code == 200


@pytest.mark.django_db
def test_in_production_no_call_goes_to_the_sandbox_and_the_session_is_parked(production, customer):
    # Not a single request may leave: responses refuses any URL it was not given.
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        with pytest.raises(ProviderNotConfigured):
            sessions.verification_start(customer=customer)
        session = VerificationSession.objects.create(customer=customer, provider="veriff")
        with pytest.raises(ProviderNotConfigured):
            provider_sessions.session_create_at_provider(session_id=session.pk)
    session.refresh_from_db()
    assert session.provider_error_permanent
    assert "VERIFF_API_URL" in session.provider_error
    assert "KYC_ALLOW_SANDBOX_PROVIDERS" in session.provider_error


def test_the_refusal_names_every_variable_to_set_and_the_opt_in(production):
    with pytest.raises(ProviderNotConfigured) as refused:
        get_provider("veriff")
    message = str(refused.value)
    for name in ("VERIFF_API_URL", "VERIFF_API_KEY", "VERIFF_API_SECRET", "KYC_ALLOW_SANDBOX_PROVIDERS=true"):
        assert name in message
    assert sandbox.API_SECRET not in message and sandbox.API_KEY not in message


def test_a_real_integration_is_not_refused(production):
    with_options(production, "veriff", **REAL)
    assert get_provider("veriff").configuration_problems() == []


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"api_url": "https://sandbox.staging.example/sandbox/veriff/v1"}, "VERIFF_API_URL"),
        ({"api_key": sandbox.API_KEY.upper()}, "VERIFF_API_KEY"),
        ({"api_secret": sandbox.API_SECRET}, "VERIFF_API_SECRET"),
        ({"previous_secrets": ["old", sandbox.API_SECRET]}, "VERIFF_API_SECRETS_PREVIOUS"),
    ],
)
def test_the_sandbox_is_recognised_by_its_path_on_any_host_and_by_its_public_credentials(
    settings, overrides, variable
):
    problems = VeriffProvider(**{**REAL, **overrides}).configuration_problems()
    assert len(problems) == 1 and variable in problems[0]


@pytest.mark.parametrize(
    ("missing", "option"),
    [("VERIFF_API_KEY", "api_key"), ("VERIFF_API_SECRET", "api_secret"), ("VERIFF_API_URL", "api_url")],
)
def test_an_empty_credential_is_a_problem(settings, missing, option):
    with_options(settings, "veriff", **{**REAL, option: ""})
    problems = get_provider("veriff").configuration_problems()
    assert len(problems) == 1 and problems[0].startswith(f"{missing} is empty")
