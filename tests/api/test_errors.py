"""One error format everywhere under /api/, whatever went wrong and whoever raised it."""

import base64

import pytest
from rest_framework.test import APIClient

from kyc.services import customers as kyc_customers

pytestmark = pytest.mark.django_db


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def test_validation_errors_name_each_field(api):
    error = assert_error(
        api.post("/api/v1/customers/", {"email": "not-an-email", "country": "Estonia"}, format="json"),
        400,
        "validation_error",
    )
    assert set(error["fields"]) == {"external_ref", "email", "country"}
    assert error["fields"]["country"] == ["Two letters (ISO 3166-1 alpha-2)."]


def test_a_body_that_is_not_an_object_is_a_validation_error(api):
    error = assert_error(api.post("/api/v1/customers/", [1, 2], format="json"), 400, "validation_error")
    assert "Expected a dictionary" in error["message"] and error["fields"] == {}


def test_malformed_json(api):
    response = api.post("/api/v1/customers/", b'{"external_ref": ', content_type="application/json")
    assert_error(response, 400, "malformed_request")


def test_a_body_that_is_not_json(api):
    response = api.post(
        "/api/v1/customers/", b"external_ref=x", content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 415, "unsupported_media_type")


def test_unknown_object(api):
    assert_error(api.get("/api/v1/customers/999999/"), 404, "not_found")
    assert_error(api.get("/api/v1/verifications/3f1c2a9e-5b7d-4e0f-9a61-2c8d7b4e1f00/"), 404, "not_found")


def test_unknown_path_and_missing_slash(api):
    assert_error(api.get("/api/v1/nothing-here/"), 404, "not_found")
    error = assert_error(api.get("/api/v1/customers"), 404, "not_found")
    assert "/api/v1/customers/" in error["message"]


def test_method_not_allowed(api):
    assert_error(api.put("/api/v1/customers/", {}, format="json"), 405, "method_not_allowed")


def test_missing_and_bad_credentials(db):
    error = assert_error(APIClient().get("/api/v1/customers/"), 401, "not_authenticated")
    assert error["fields"] == {}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key kyc_nope_nope")
    response = client.get("/api/v1/customers/")
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == "Api-Key"


def test_invalid_list_parameters_are_refused_not_ignored(api):
    assert (
        "cursor is not valid"
        in assert_error(api.get("/api/v1/customers/?cursor=garbage"), 404, "not_found")["message"]
    )
    error = assert_error(api.get("/api/v1/customers/?created_before="), 400, "validation_error")
    assert error["fields"] == {"created_before": ["This filter needs a value."]}
    for bad in ("0", "101", "ten", ""):
        assert (
            "limit"
            in assert_error(api.get(f"/api/v1/customers/?limit={bad}"), 400, "validation_error")["fields"]
        )
    for bad in ("name", "", "created_at,email"):
        error = assert_error(api.get(f"/api/v1/customers/?ordering={bad}"), 400, "validation_error")
        assert error["fields"]["ordering"] == ["Must be one of: created_at, -created_at."]


def test_a_crash_is_a_json_500_without_details(api, monkeypatch):
    from kyc.services import customers as kyc_customers

    def boom(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(kyc_customers, "customer_create", boom)
    api.raise_request_exception = False
    error = assert_error(
        api.post("/api/v1/customers/", {"external_ref": "X"}, format="json"), 500, "server_error"
    )
    assert "secret" not in error["message"]


def test_rate_limit_per_key(api, make_key, settings):
    settings.KYC_API_RATE = "3/minute"
    for _ in range(3):
        assert api.get("/api/v1/customers/").status_code == 200
    response = api.get("/api/v1/customers/")
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 0
    # Another key has its own budget.
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key('read')}")
    assert other.get("/api/v1/customers/").status_code == 200


@pytest.mark.parametrize(
    "cursor",
    [
        "p=garbage",  # not a time
        "r=1&p=2026-02-30 10:00:00+00:00",  # no such day
        "p=0001-01-01 00:00:00+01:00",  # before year 1 once in UTC
        "p=9999-12-31 23:59:59-01:00",  # after year 9999 once in UTC
        "p=2026-01-01 10:00:00",  # without its time zone
        "p=2026-01-01 10:00:00%00+00:00",  # a NUL
    ],
)
def test_a_hand_made_cursor_is_refused_like_any_invalid_one(api, customer, cursor):
    encoded = base64.b64encode(cursor.encode()).decode()
    for path in ("/api/v1/customers/", "/api/v1/verifications/"):
        error = assert_error(api.get(path, {"cursor": encoded}), 404, "not_found")
        assert "cursor is not valid" in error["message"]


def test_a_cursor_from_a_page_still_works(api, customer, make_key):
    kyc_customers.customer_create(external_ref="CUST-2", first_name="Ada", country="EE")
    first = api.get("/api/v1/customers/", {"limit": 1}).json()
    second = api.get(first["next"]).json()
    assert [c["external_ref"] for c in first["results"] + second["results"]] == ["CUST-2", "CUST-1"]


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # RecursionError in the parser
        b'{"external_ref": ' * 100_000 + b"1" + b"}" * 100_000,
        b'{"external_ref": "X", "metadata": ' + b"[" * 33 + b"]" * 33 + b"}",  # past the depth limit
        b'{"external_ref": "X", "first_name": 1e999}',  # infinity
        b'{"external_ref": "X", "first_name": -Infinity}',
        b'{"external_ref": "X\\ud800"}',  # no UTF-8 column holds an unpaired surrogate
    ],
    ids=["list-100000-deep", "object-100000-deep", "list-33-deep", "1e999", "Infinity", "surrogate"],
)
@pytest.mark.parametrize("idempotency_key", [None, "malformed-body-1"])
def test_json_nested_too_deep_or_out_of_range_is_a_malformed_request(api, body, idempotency_key):
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    response = api.post("/api/v1/customers/", body, content_type="application/json", **headers)
    assert_error(response, 400, "malformed_request")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/customers/?created_after=0001-01-01T00:23:49%2B01:00",
        "/api/v1/customers/?created_before=9999-12-31T23:59:59-01:00",
        "/api/v1/verifications/?created_after=0001-01-01T00:00:00%2B14:00",
        "/api/v1/events/?created_after=0001-01-01T00:00:00%2B00:01",
    ],
)
def test_a_date_that_does_not_exist_in_utc_is_a_400_not_a_crash(api, url):
    response = api.get(url)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
