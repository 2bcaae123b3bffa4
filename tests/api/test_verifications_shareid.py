"""Starting a ShareID verification through the API (`{"provider": "shareid"}`), against the ShareID
sandbox's real views (the in-process bridge, tests/providers/shareid/conftest.py)."""

import re

import pytest

from kyc.models import VerificationSession
from kyc.services.provider_updates import provider_update_apply
from providers import registry
from tests.providers.shareid.conftest import shareid_sandbox  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)

APPLICANT_ID = re.compile(r"ap-\d{17}-sim0-[0-9a-f]{10}")


def start(api, customer, **body):
    return api.post(f"/api/v1/customers/{customer.pk}/verifications/", body, format="json")


def test_a_shareid_start_creates_an_onboarding_at_the_sandbox(api, customer, shareid_sandbox, settings):  # noqa: F811
    response = start(api, customer, provider="shareid")
    assert response.status_code == 201, response.content
    body = response.json()
    session = VerificationSession.objects.get()
    assert session.provider == "shareid" and body["provider"] == "shareid"
    # The id the control endpoints take (issue 15, part 7) is the one the API shows.
    assert APPLICANT_ID.fullmatch(body["provider_session_id"])
    assert body["provider_session_id"] == session.provider_session_id
    detail = api.get(f"/api/v1/verifications/{session.reference}/").json()
    assert detail["provider_session_id"] == body["provider_session_id"]
    # The SDK token is single-use: there is no stored hosted URL, only our flow page.
    assert body["hosted_url"] is None
    assert body["flow_url"] == f"{settings.KYC_PUBLIC_URL}/verify/s/{session.reference}/"

    applicant = shareid_sandbox.applicant(body["provider_session_id"])
    assert applicant["customer_data"] == {"reference": str(session.reference)}
    assert applicant["callback_with_document_capture"] is True
    [(method, url, _headers)] = shareid_sandbox.calls
    assert method == "POST" and url.endswith("/flow/onboarding/auth/business")


def test_the_sandbox_decision_reaches_the_api(api, customer, shareid_sandbox):  # noqa: F811
    applicant_id = start(api, customer, provider="shareid").json()["provider_session_id"]
    shareid_sandbox.complete(applicant_id, ["face_spoof", "no_doc"])
    # One poll of the session, as the poller makes it (its pool threads cannot reach the bridge,
    # which answers in the test's thread).
    update = registry.get_provider("shareid").fetch_update(applicant_id)
    provider_update_apply(provider="shareid", update=update)
    session = VerificationSession.objects.get()
    body = api.get(f"/api/v1/verifications/{session.reference}/").json()
    assert body["status"] == "declined" and body["provider_session_id"] == applicant_id
    assert session.media.count() == 4  # the four images, from the fetched result


def test_an_unknown_provider_is_refused_naming_shareid_among_the_enabled(api, customer):
    response = start(api, customer, provider="share-id")
    assert response.status_code == 400
    assert "shareid" in response.content.decode()
