"""Request authentication and response signatures (providers/veriff/README.md, "Authentication and
signatures", "The sandbox")."""

import hashlib
import json
import uuid

import pytest

from providers.veriff import signing
from tests.providers_config import with_options

pytestmark = pytest.mark.django_db

SUBMIT = {"verification": {"status": "submitted"}}


@pytest.fixture
def session(api):
    return api.create_session(vendorData="customer-1")


def code_of(response) -> str:
    return response.json()["code"]


def test_missing_api_key_is_1801(api, session):
    body = json.dumps(SUBMIT).encode()
    response = api.client.patch(
        f"/sandbox/veriff/v1/sessions/{session['id']}",
        body,
        content_type="application/json",
        headers={"X-HMAC-SIGNATURE": signing.signature(body, api.secret, signing.HMAC)},
    )
    assert response.status_code == 401
    assert response.json() == {
        "status": "fail",
        "code": "1801",
        "message": "Mandatory X-AUTH-CLIENT header containing the API key is missing from the request.",
    }


def test_api_key_that_is_not_a_uuid_is_1802(api):
    response = api.post("/sessions", {"verification": {}}, headers={"X-AUTH-CLIENT": "Your-API-KEY"})
    assert response.status_code == 401
    assert code_of(response) == "1802"


def test_unknown_api_key_is_1803(api):
    response = api.post("/sessions", {"verification": {}}, headers={"X-AUTH-CLIENT": str(uuid.uuid4())})
    assert response.status_code == 401
    assert code_of(response) == "1803"


def test_create_session_needs_no_signature(api):
    response = api.post("/sessions", {"verification": {}}, signed=False)
    assert response.status_code == 201


@pytest.mark.parametrize(("scheme", "code"), [(signing.LEGACY, "1814"), (signing.HMAC, "1819")])
def test_wrong_body_signature_is_refused_with_the_schemes_code(api, session, scheme, code):
    body = json.dumps(SUBMIT).encode()
    headers = {
        "X-AUTH-CLIENT": api.key,
        signing.HEADER[scheme]: signing.signature(b"other", api.secret, scheme),
    }
    response = api.client.patch(
        f"/sandbox/veriff/v1/sessions/{session['id']}", body, content_type="application/json", headers=headers
    )
    assert response.status_code == 401
    assert code_of(response) == code


@pytest.mark.parametrize(("scheme", "code"), [(signing.LEGACY, "1813"), (signing.HMAC, "1818")])
def test_wrong_id_signature_is_refused_with_the_schemes_code(api, session, scheme, code):
    other_id = str(uuid.uuid4())
    response = api.get(f"/sessions/{session['id']}/decision", other_id, scheme=scheme)
    assert response.status_code == 401
    assert code_of(response) == code


def test_signed_create_with_a_wrong_signature_is_refused(api):
    # POST /sessions may be unsigned, but a signature that is sent must be right.
    response = api.post(
        "/sessions", {"verification": {}}, signed=False, headers={"X-HMAC-SIGNATURE": "0" * 64}
    )
    assert response.status_code == 401
    assert code_of(response) == "1819"


def test_signature_that_is_not_a_sha256_hex_is_1812(api, session):
    response = api.client.get(
        f"/sandbox/veriff/v1/sessions/{session['id']}/decision",
        headers={"X-AUTH-CLIENT": api.key, "X-SIGNATURE": "not-a-hash"},
    )
    assert response.status_code == 401
    assert code_of(response) == "1812"


def test_missing_signature_on_a_get_is_refused(api, session):
    response = api.client.get(
        f"/sandbox/veriff/v1/sessions/{session['id']}/decision", headers={"X-AUTH-CLIENT": api.key}
    )
    assert response.status_code == 401
    assert code_of(response) == "1812"


@pytest.mark.parametrize("scheme", [signing.LEGACY, signing.HMAC])
def test_both_signature_schemes_are_accepted(api, session, scheme):
    assert api.get(f"/sessions/{session['id']}/decision", session["id"], scheme=scheme).status_code == 200
    body = json.dumps({"verification": {"status": "submitted"}}).encode()
    assert api.patch(f"/sessions/{session['id']}", body, scheme=scheme).status_code == 200


def test_legacy_signature_matches_the_seed_formula(api, session):
    # The seed: X-SIGNATURE = sha256(payload + secret), not an HMAC.
    legacy = hashlib.sha256(session["id"].encode() + api.secret.encode()).hexdigest()
    response = api.client.get(
        f"/sandbox/veriff/v1/sessions/{session['id']}/attempts",
        headers={"X-AUTH-CLIENT": api.key, "X-SIGNATURE": legacy},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("scheme", [signing.HMAC, signing.LEGACY])
def test_every_answer_is_signed_over_its_exact_bytes_with_the_configured_scheme(
    api, sandbox_settings, scheme
):
    with_options(sandbox_settings, "veriff", signature_scheme=scheme)
    created = api.post("/sessions", {"verification": {"vendorData": "x"}}, signed=False)
    refused = api.post("/sessions", {"verification": {}}, headers={"X-AUTH-CLIENT": "nope"})
    for response in (created, refused):
        assert api.is_signed(response.headers, response.content, scheme)
        other = signing.LEGACY if scheme == signing.HMAC else signing.HMAC
        assert signing.HEADER[other] not in response.headers


def test_answers_are_compact_json(api):
    response = api.post("/sessions", {"verification": {}}, signed=False)
    assert b": " not in response.content and b", " not in response.content


def test_unknown_session_is_404_not_found(api):
    missing = str(uuid.uuid4())
    response = api.get(f"/sessions/{missing}/decision", missing)
    assert response.status_code == 404
    assert response.json() == {"status": "fail", "message": "Not Found."}
    assert api.is_signed(response.headers, response.content)


def test_session_of_another_integration_is_1101(api, session, sandbox_settings):
    new_key = str(uuid.uuid4())
    with_options(sandbox_settings, "veriff", api_key=new_key)
    response = api.client.get(
        f"/sandbox/veriff/v1/sessions/{session['id']}/decision",
        headers={
            "X-AUTH-CLIENT": new_key,
            "X-HMAC-SIGNATURE": signing.signature(session["id"].encode(), api.secret, signing.HMAC),
        },
    )
    assert response.status_code == 401
    assert code_of(response) == "1101"
