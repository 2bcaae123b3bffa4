"""Request validation and its error codes (providers/veriff/README.md, "Endpoints"; the seed, "Response
and error codes")."""

import base64
import datetime as dt
import io
import json

import jwt
import pytest
from PIL import Image

pytestmark = pytest.mark.django_db


def now_iso(delta: dt.timedelta = dt.timedelta()) -> str:
    return (dt.datetime.now(dt.UTC) + delta).isoformat().replace("+00:00", "Z")


def png_base64() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


# --- POST /sessions ------------------------------------------------------------------------------


def test_create_answers_the_documented_shape(api):
    response = api.post(
        "/sessions",
        {
            "verification": {
                "vendorData": "11111111",
                "callback": "https://example.com/back",
                "timestamp": now_iso(),
            }
        },
        signed=False,
    )
    assert response.status_code == 201
    body = response.json()
    verification = body["verification"]
    assert body["status"] == "success"
    assert set(verification) == {"id", "url", "vendorData", "host", "baseUrl", "status", "sessionToken"}
    assert verification["status"] == "created"
    assert verification["vendorData"] == "11111111"
    assert verification["host"] == verification["baseUrl"] == api.public_url + "/sandbox/veriff"
    assert verification["url"] == f"{verification['host']}/v/{verification['sessionToken']}"


def test_session_token_is_an_hs256_jwt_valid_for_seven_days(api):
    session = api.create_session()
    claims = jwt.decode(session["sessionToken"], api.secret, algorithms=["HS256"])
    assert claims["session_id"] == session["id"]
    assert claims["exp"] - claims["iat"] == 604800


def test_minimal_request_is_accepted(api):
    assert api.post("/sessions", {"verification": {}}, signed=False).status_code == 201


@pytest.mark.parametrize(
    ("verification", "code"),
    [
        pytest.param(None, "1102", id="no verification object"),
        pytest.param("not-an-object", "1104", id="verification not an object"),
        pytest.param({"person": "John"}, "1104", id="person not an object"),
        pytest.param({"additionalData": {"nested": {"a": 1}}}, "1104", id="nested additionalData"),
        pytest.param({"endUserId": "not-a-uuid"}, "1104", id="endUserId not a uuid"),
        pytest.param({"timestamp": "2016-05-19T08:30:25.597Z"}, "1201", id="timestamp older than 1 h"),
        pytest.param({"timestamp": "19.05.2016 08:30"}, "1202", id="timestamp format"),
        pytest.param({"features": ["video"]}, "1301", id="unsupported feature"),
        pytest.param({"callback": "ftp://example.com/"}, "1302", id="callback not http(s)"),
        pytest.param({"callback": "http://example.com/back"}, "1302", id="plain http to another host"),
        pytest.param({"vendorData": "x" * 1001}, "1500", id="vendorData too long"),
        pytest.param({"vendorData": 12345}, "1501", id="vendorData not a string"),
        pytest.param({"person": {"dateOfBirth": "1990-02-30"}}, "2003", id="impossible date of birth"),
        pytest.param({"person": {"dateOfBirth": "30.03.1967"}}, "2003", id="date of birth format"),
        pytest.param({"document": {"number": "AB-123"}}, "2102", id="document number with a dash"),
        pytest.param({"document": {"type": "LIBRARY_CARD"}}, "2103", id="document type"),
        pytest.param({"document": {"country": "XX"}}, "2104", id="document country"),
    ],
)
def test_invalid_session_request_is_refused_with_its_code(api, verification, code):
    body = {} if verification is None else {"verification": verification}
    response = api.post("/sessions", body, signed=False)
    assert response.status_code == 400
    assert response.json()["status"] == "fail"
    assert response.json()["code"] == code
    assert response.json()["message"]


def test_body_that_is_not_json_is_1104(api):
    assert api.post("/sessions", b"{not json", signed=False).json()["code"] == "1104"


def test_vendor_data_of_exactly_1000_characters_is_accepted(api):
    assert api.create_session(vendorData="x" * 1000)["vendorData"] == "x" * 1000


@pytest.mark.parametrize(
    "callback",
    ["https://shop.example/kyc/return", "http://127.0.0.1:8000/verify/return", "http://localhost:3000/back"],
)
def test_https_and_local_http_callbacks_are_accepted(api, callback):
    assert api.post("/sessions", {"verification": {"callback": callback}}, signed=False).status_code == 201


def test_fresh_timestamp_and_full_seed_request_are_accepted(api):
    verification = {
        "callback": "https://veriff.me",
        "person": {"firstName": "Tundmatu", "lastName": "Toomas", "idNumber": "123456789"},
        "document": {"number": "B01234567", "type": "PASSPORT", "country": "EE"},
        "additionalData": {"citizenship": "EE", "placeOfResidence": "Tallinn"},
        "vendorData": "11111111",
        "lang": "en",
        "features": ["selfid"],
        "timestamp": now_iso(dt.timedelta(minutes=-5)),
    }
    assert api.post("/sessions", {"verification": verification}, signed=False).status_code == 201


# --- PATCH /sessions/{id} -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verification", "code"),
    [
        pytest.param({}, "1102", id="no status"),
        pytest.param({"status": "finished"}, "1303", id="unknown status"),
        pytest.param({"status": "approved"}, "1304", id="status a client cannot set"),
        pytest.param({"status": "submitted", "timestamp": "yesterday"}, "1202", id="bad timestamp"),
    ],
)
def test_invalid_status_update_is_refused_with_its_code(api, verification, code):
    session = api.create_session()
    response = api.patch(f"/sessions/{session['id']}", {"verification": verification})
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_submitting_twice_is_1304(api):
    session = api.create_session()
    assert api.submit(session["id"]).status_code == 200
    response = api.submit(session["id"])
    assert response.status_code == 400
    assert response.json() == {
        "status": "fail",
        "code": "1304",
        "message": 'Cannot transition to "submitted" status.',
    }


def test_submit_answers_the_session_with_status_submitted(api):
    session = api.create_session(vendorData="v-1")
    response = api.patch(
        f"/sessions/{session['id']}",
        {"verification": {"status": "submitted", "frontState": "done", "timestamp": now_iso()}},
    )
    assert response.status_code == 200
    verification = response.json()["verification"]
    assert verification["status"] == "submitted"
    assert verification["id"] == session["id"]
    assert verification["sessionToken"] == session["sessionToken"]


# --- POST /sessions/{id}/media -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param({}, "1403", id="no image property"),
        pytest.param({"image": {"context": "document-front"}}, "1400", id="no image data"),
        pytest.param(
            {"image": {"context": "document-front", "content": "%%%not base64%%%"}}, "1401", id="not b64"
        ),
        pytest.param(
            {"image": {"context": "document-front", "content": base64.b64encode(b"plain text").decode()}},
            "1401",
            id="base64 of something that is not an image",
        ),
        pytest.param({"image": {"context": "passport-selfie", "content": "AAAA"}}, "1402", id="bad context"),
        pytest.param({"image": {"content": "AAAA"}}, "1102", id="no context"),
    ],
)
def test_invalid_media_upload_is_refused_with_its_code(api, body, code):
    session = api.create_session()
    response = api.post(f"/sessions/{session['id']}/media", body)
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_media_after_submit_is_409(api):
    session = api.create_session()
    api.submit(session["id"])
    body = {"image": {"context": "face", "content": png_base64(), "timestamp": now_iso()}}
    response = api.post(f"/sessions/{session['id']}/media", body)
    assert response.status_code == 409
    assert response.json()["status"] == "fail"


def test_media_upload_answers_the_documented_shape(api):
    session = api.create_session()
    body = {"image": {"context": "face", "content": "data:image/png;base64," + png_base64()}}
    response = api.post(f"/sessions/{session['id']}/media", json.dumps(body).encode())
    assert response.status_code == 201
    image = response.json()["image"]
    assert image["name"] == "face.png"
    assert image["mimetype"] == "image/png"
    assert image["size"] > 0
    assert image["url"] == f"{api.public_url}/sandbox/veriff/v1/media/{image['id']}"
    assert set(image["timestamp"]) == {"url", "id"}


def test_json_nested_past_the_parsers_depth_is_1104_not_a_crash(api):
    deep = b"[" * 100_000 + b"]" * 100_000
    response = api.post("/sessions", deep, signed=False)
    assert response.status_code == 400
    assert response.json()["code"] == "1104"


@pytest.mark.parametrize("path", ["decision", "media/large-video"])
def test_control_calls_refuse_json_nested_past_the_parsers_depth(client, path):
    deep = b"{" + b'"a":{' * 100_000 + b"}" * 100_001
    response = client.post(
        f"/sandbox/veriff/control/sessions/s-1/{path}", deep, content_type="application/json"
    )
    assert response.status_code == 400
