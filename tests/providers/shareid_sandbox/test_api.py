"""ShareID's API under flow/: credentials on every call, ids in ShareID's shapes, the start's
validation (422) and the authenticate start."""

import re
import uuid

import pytest

pytestmark = pytest.mark.django_db

APPLICANT_ID = re.compile(r"^ap-\d{17}-sim0-[0-9a-f]{10}$")
WRONG = [
    {"business_hash": "5a7d31c0", "api_key": "fl-wrong"},
    {"business_hash": "00000000", "api_key": "fl-sandbox-only-00c4e1f9a7b2"},
    {},
]


def test_an_onboarding_start_answers_a_single_use_token_and_an_applicant_id(shareid):
    started = shareid.start()

    assert APPLICANT_ID.match(started["applicant_id"])
    assert isinstance(started["token"], str) and len(started["token"]) >= 32
    assert set(started) == {"token", "applicant_id"}
    assert shareid.applicant(started["applicant_id"])["customer_data"] == {"reference": "9b2f0c7e-ref"}


def test_the_alias_path_of_the_start_is_accepted(shareid):
    body = {**shareid.credentials, "customer_data": {"reference": "r"}}
    response = shareid.post("/flow/onboarding/auth_business", body)

    assert response.status_code == 200
    assert APPLICANT_ID.match(response.json()["applicant_id"])


def test_applicant_ids_differ(shareid):
    assert shareid.start()["applicant_id"] != shareid.start()["applicant_id"]


@pytest.mark.parametrize("wrong", WRONG)
@pytest.mark.parametrize(
    "path, extra",
    [
        ("/flow/onboarding/auth/business", {"customer_data": {"reference": "r"}}),
        ("/flow/authenticate/auth/business", {"applicant_id": "ap-x"}),
        ("/flow/onboarding/fetch/auth/business", {}),
        ("/flow/authenticate/fetch/auth/business", {}),
    ],
)
def test_every_call_with_wrong_credentials_is_refused_401_and_counted(shareid, path, extra, wrong):
    before = shareid.stats()["unauthorized"]

    response = shareid.post(path, {**wrong, **extra})

    assert response.status_code == 401
    assert response.json() == {"detail": "invalid credentials"}
    assert shareid.stats()["unauthorized"] == before + 1


@pytest.mark.parametrize("duration", [300, 3600])
def test_session_duration_bounds_are_accepted(shareid, duration):
    started = shareid.start(session_duration=duration)

    assert shareid.applicant(started["applicant_id"])["session_duration"] == duration


@pytest.mark.parametrize("duration", [299, 3601, 0, -5, "600", 600.5, True])
def test_session_duration_outside_300_to_3600_is_422(shareid, duration):
    response = shareid.start_response(session_duration=duration)

    assert response.status_code == 422
    assert "session_duration" in response.json()["detail"]


@pytest.mark.parametrize(
    "fields, word",
    [
        ({"customer_data": None}, "customer_data"),
        ({"customer_data": "ref"}, "customer_data"),
        ({"callback": "ftp://example.com/x"}, "callback"),
        ({"callback": "https://example.com/a b"}, "callback"),
        ({"callback": "https://exämple.com/"}, "callback"),
        ({"methods": ["doc", "voice"]}, "methods"),
        ({"callback_with_document_capture": "yes"}, "callback_with_document_capture"),
    ],
)
def test_a_bad_start_body_is_422_and_creates_nothing(shareid, fields, word):
    from providers.shareid.sandbox.models import Applicant

    response = shareid.start_response(**fields)

    assert response.status_code == 422
    assert word in response.json()["detail"]
    assert not Applicant.objects.exists()


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b""])
def test_a_body_that_is_not_a_json_object_is_422(shareid, body):
    response = shareid.post("/flow/onboarding/auth/business", body)

    assert response.status_code == 422
    assert response.json() == {"detail": "the body must be a JSON object"}


def test_only_post_is_allowed(shareid, client):
    response = client.get(shareid.prefix + "/flow/onboarding/fetch")

    assert response.status_code == 405
    assert response.json() == {"detail": "method not allowed"}


def test_an_authenticate_start_answers_a_token_and_a_uuid4_flow_id(shareid):
    applicant_id = shareid.start()["applicant_id"]

    response = shareid.post(
        "/flow/authenticate/auth/business",
        {**shareid.credentials, "applicant_id": applicant_id, "callback": shareid.callback_url},
    )

    assert response.status_code == 200
    flow_id = response.json()["flow_id"]
    assert uuid.UUID(flow_id).version == 4
    assert response.json()["token"] != ""
    assert shareid.applicant(applicant_id)["flows"] == [flow_id]


def test_an_authenticate_start_for_an_unknown_applicant_is_404(shareid):
    response = shareid.post(
        "/flow/authenticate/auth/business", {**shareid.credentials, "applicant_id": "ap-nobody"}
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "applicant not found"}


def test_the_api_is_served_under_the_short_stack_paths(settings):
    """The API lives under flow/, the path the short WSGI stack serves; the SDK page and control
    do not (they need the site's stack: CSRF, CSP)."""
    from django.urls import reverse

    from providers.shareid.sandbox import credentials

    (server_path,) = credentials.SERVER_PATHS
    for name in ("onboarding-start", "onboarding-fetch-token", "onboarding-fetch", "authenticate-fetch"):
        assert reverse(f"shareid_sandbox:{name}").startswith(server_path)
    for name in ("sdk", "control-stats"):
        assert not reverse(f"shareid_sandbox:{name}").startswith(server_path)
