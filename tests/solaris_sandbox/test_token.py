"""The OAuth2 token endpoint: the seed's exact request, its answer, expiry and the request count."""

import time

import pytest

pytestmark = pytest.mark.django_db


def test_the_seeds_request_gets_a_bearer_token(solaris):
    response = solaris.fetch_token()

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["scope"] == "partners"
    assert body["expires_in"] == 3599
    assert len(body["access_token"]) >= 32


def test_the_token_opens_the_api_in_the_authorization_header(solaris):
    token = solaris.fetch_token().json()["access_token"]

    response = solaris.client.get(
        solaris.prefix + "/v1/webhooks", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Basic " + "a2R5Yy1zYW5kYm94Ondyb25n", id="wrong secret"),
        pytest.param("Bearer abc", id="not basic"),
        pytest.param("Basic not-base64!", id="not base64"),
        pytest.param("", id="missing"),
    ],
)
def test_bad_client_credentials_get_401(solaris, authorization):
    response = solaris.fetch_token(Authorization=authorization)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic")


def test_a_wrong_secret_for_the_right_client_is_refused(solaris):
    response = solaris.fetch_token(Authorization=solaris.basic(client_secret="not-the-secret"))

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("grant_type=password&scope=partners", "unsupported_grant_type"),
        ("grant_type=client_credentials", "invalid_scope"),
        ("grant_type=client_credentials&scope=admin", "invalid_scope"),
    ],
)
def test_the_form_must_be_client_credentials_for_partners(solaris, body, error):
    response = solaris.client.post(
        solaris.prefix + "/oauth2/token",
        body,
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": solaris.basic()},
    )

    assert response.status_code == 400
    assert response.json()["error"] == error


def test_the_form_must_be_url_encoded_not_json(solaris):
    response = solaris.client.post(
        solaris.prefix + "/oauth2/token",
        {"grant_type": "client_credentials", "scope": "partners"},
        content_type="application/json",
        headers={"Authorization": solaris.basic()},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_parameters_in_the_url_are_refused(solaris):
    response = solaris.client.post(
        solaris.prefix + "/oauth2/token?grant_type=client_credentials&scope=partners",
        "grant_type=client_credentials&scope=partners",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": solaris.basic()},
    )

    assert response.status_code == 400


def test_the_lifetime_is_scaled_by_the_sandbox_clock(solaris, settings):
    settings.SIM_TIME_SCALE = 0.01

    assert solaris.fetch_token().json()["expires_in"] == 36


def test_an_expired_token_gets_401_with_an_errors_body(solaris, settings):
    settings.SOLARIS_SANDBOX_TOKEN_SECONDS = 1
    headers = solaris.bearer()
    assert solaris.get("/webhooks").status_code == 200

    time.sleep(1.1)
    response = solaris.client.get(solaris.prefix + "/v1/webhooks", headers=headers)

    assert response.status_code == 401
    (error,) = response.json()["errors"]
    assert error["status"] == "401"
    assert error["code"] == "unauthorized"


def test_the_control_call_expires_every_token_now(solaris):
    first = solaris.fetch_token().json()["access_token"]
    second = solaris.fetch_token().json()["access_token"]

    response = solaris.control("POST", "/tokens/expire")

    assert response.json() == {"expired": 2}
    for token in (first, second):
        answer = solaris.client.get(
            solaris.prefix + "/v1/webhooks", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 401
    fresh = solaris.fetch_token().json()["access_token"]
    answer = solaris.client.get(solaris.prefix + "/v1/webhooks", headers={"Authorization": f"Bearer {fresh}"})
    assert answer.status_code == 200


def test_every_token_request_is_counted_answered_or_refused(solaris):
    solaris.fetch_token()
    solaris.fetch_token()
    solaris.fetch_token(Authorization=solaris.basic(client_secret="wrong"))

    counts = solaris.client.get(solaris.prefix + "/control/tokens").json()

    assert counts == {"requests": 3, "issued": 2, "valid": 2}
