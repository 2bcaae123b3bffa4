"""The hosted page: a person plays the end user; the app receives Veriff's webhooks in order."""

import jwt
import pytest
from django.test import Client

from tests.providers_config import with_options

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "https://shop.example/kyc/return"


@pytest.fixture
def session(api):
    return api.create_session(
        callback=CALLBACK,
        vendorData="customer-42",
        endUserId="a1b2c35d-e8f7-4d5e-9cd2-a1b2c35db3d4",
        person={
            "firstName": "Morton",
            "lastName": "Stracke",
            "idNumber": "48002020011",
            "dateOfBirth": "1980-02-02",
        },
        document={"type": "ID_CARD", "number": "AA0052283", "country": "EE"},
    )


def choose(api, session, outcome: str, reason_code: int | None = None):
    data = {"outcome": outcome}
    if reason_code is not None:
        data["reason_code"] = reason_code
    return api.client.post(api.local(session["url"]), data)


def test_opening_the_page_starts_the_attempt_with_event_7001(api, session, webhooks):
    page = api.client.get(api.local(session["url"]))

    assert page.status_code == 200
    assert b"Approve" in page.content and b"Request resubmission" in page.content
    (event,) = webhooks.bodies()
    assert webhooks.requests[0].url == webhooks.events_url
    assert event["id"] == session["id"]
    assert event["code"] == 7001 and event["action"] == "started" and event["feature"] == "selfid"
    assert event["vendorData"] == "customer-42"
    assert event["endUserId"] == "a1b2c35d-e8f7-4d5e-9cd2-a1b2c35db3d4"
    assert set(event) == {"id", "attemptId", "feature", "code", "action", "vendorData", "endUserId"}


def test_reopening_the_page_does_not_start_the_attempt_twice(api, session, webhooks):
    api.client.get(api.local(session["url"]))
    api.client.get(api.local(session["url"]))
    assert webhooks.codes() == [7001]


def test_approve_sends_started_submitted_and_the_decision_in_order_then_redirects(api, session, webhooks):
    api.client.get(api.local(session["url"]))
    response = choose(api, session, "approve")

    assert response.status_code == 302
    assert response["Location"] == CALLBACK
    assert webhooks.codes() == [7001, 7002, 9001]
    assert [r.url for r in webhooks.requests] == [
        webhooks.events_url,
        webhooks.events_url,
        webhooks.decision_url,
    ]
    decision = webhooks.bodies()[2]
    verification = decision["verification"]
    assert decision["status"] == "success"
    assert verification["id"] == session["id"]
    assert verification["attemptId"] == webhooks.bodies()[0]["attemptId"] == webhooks.bodies()[1]["attemptId"]
    assert verification["status"] == "approved"
    assert verification["reason"] is None and verification["reasonCode"] is None
    assert verification["person"]["firstName"] == "Morton"
    assert verification["person"]["lastName"] == "Stracke"
    assert verification["person"]["idNumber"] == "48002020011"
    assert verification["person"]["dateOfBirth"] == "1980-02-02"
    assert verification["document"]["type"] == "ID_CARD"
    assert verification["document"]["number"] == "AA0052283"
    assert verification["document"]["country"] == "EE"
    assert verification["document"]["validUntil"]
    assert verification["comments"] == []
    assert verification["vendorData"] == "customer-42"
    assert verification["endUserId"] == "a1b2c35d-e8f7-4d5e-9cd2-a1b2c35db3d4"
    assert verification["decisionTime"].endswith("Z") and verification["acceptanceTime"].endswith("Z")
    assert decision["technicalData"] == {"ip": "127.0.0.1"}


def test_every_webhook_is_compact_json_signed_over_the_exact_bytes(api, session, webhooks):
    choose(api, session, "approve")
    assert len(webhooks.requests) == 3
    for request in webhooks.requests:
        assert request.headers["Content-Type"] == "application/json"
        assert api.is_signed(request.headers, request.body)
        assert b'": ' not in request.body


def test_webhooks_use_the_legacy_signature_when_configured(api, session, webhooks, sandbox_settings):
    with_options(sandbox_settings, "veriff", signature_scheme="legacy")
    choose(api, session, "approve")
    for request in webhooks.requests:
        assert api.is_signed(request.headers, request.body, "legacy")
        assert "X-HMAC-SIGNATURE" not in request.headers


@pytest.mark.parametrize("reason_code", [101, 102, 103, 105, 106, 107])
def test_decline_sends_9102_with_the_chosen_reason(api, session, webhooks, reason_code):
    response = choose(api, session, "decline", reason_code)

    assert response.status_code == 302
    assert webhooks.codes() == [7001, 7002, 9102]
    verification = webhooks.bodies()[-1]["verification"]
    assert verification["status"] == "declined"
    assert verification["reasonCode"] == reason_code
    assert verification["reason"]


@pytest.mark.parametrize("reason_code", [201, 202, 203, 204, 205, 206, 207])
def test_resubmission_sends_9103_with_the_chosen_reason(api, session, webhooks, reason_code):
    choose(api, session, "resubmit", reason_code)

    assert webhooks.codes() == [7001, 7002, 9103]
    verification = webhooks.bodies()[-1]["verification"]
    assert verification["status"] == "resubmission_requested"
    assert verification["reasonCode"] == reason_code


def test_abandon_sends_9104_abandoned_without_a_submission(api, session, webhooks):
    api.client.get(api.local(session["url"]))
    choose(api, session, "abandon")

    assert webhooks.codes() == [7001, 9104]
    assert webhooks.bodies()[-1]["verification"]["status"] == "abandoned"
    media = api.get(f"/sessions/{session['id']}/media", session["id"]).json()
    assert media["images"] == [] and media["videos"] == []


def test_a_reason_of_the_wrong_family_is_refused(api, session, webhooks):
    api.client.get(api.local(session["url"]))
    response = choose(api, session, "decline", 204)
    assert response.status_code == 400
    assert webhooks.codes() == [7001]


def test_without_a_callback_the_page_says_done(api, webhooks):
    session = api.create_session()
    response = choose(api, session, "approve")
    assert response.status_code == 200
    assert b"Done" in response.content


@pytest.mark.parametrize(
    ("outcome", "text"),
    [("approve", b"nothing to do"), ("decline", b"nothing to do"), ("abandon", b"expired")],
)
def test_a_closed_session_has_nothing_to_do(api, session, webhooks, outcome, text):
    choose(api, session, outcome)
    sent = len(webhooks.requests)

    page = api.client.get(api.local(session["url"]))
    again = choose(api, session, "approve")

    assert text in page.content.lower()
    assert b"<form" not in page.content
    assert text in again.content.lower()
    assert len(webhooks.requests) == sent


def test_resubmission_reopens_the_same_url_for_a_new_attempt(api, session, webhooks):
    choose(api, session, "resubmit", 202)
    first_attempt = webhooks.bodies()[0]["attemptId"]

    page = api.client.get(api.local(session["url"]))
    assert page.status_code == 200
    choose(api, session, "approve")

    assert webhooks.codes() == [7001, 7002, 9103, 7001, 7002, 9001]
    second_attempt = webhooks.bodies()[3]["attemptId"]
    assert second_attempt != first_attempt
    assert webhooks.bodies()[-1]["verification"]["attemptId"] == second_attempt

    attempts = api.get(f"/sessions/{session['id']}/attempts", session["id"]).json()["verifications"]
    assert attempts == [
        {"id": first_attempt, "status": "resubmission_requested"},
        {"id": second_attempt, "status": "approved"},
    ]
    media = api.get(f"/sessions/{session['id']}/media", session["id"]).json()
    assert len(media["images"]) == 6 and len(media["videos"]) == 2
    for attempt_id in (first_attempt, second_attempt):
        per_attempt = api.get(f"/attempts/{attempt_id}/media", attempt_id).json()
        names = sorted(m["name"] for m in per_attempt["images"] + per_attempt["videos"])
        assert names == ["document-back", "document-front", "face", "video"]


def test_the_tenth_attempt_is_declined_with_539(api, session, webhooks):
    for _ in range(9):
        choose(api, session, "resubmit", 204)
    page = api.client.get(api.local(session["url"]))
    assert b"539" in page.content

    choose(api, session, "approve")

    decision = webhooks.bodies()[-1]["verification"]
    assert decision["code"] == 9102 and decision["status"] == "declined"
    assert decision["reasonCode"] == 539
    attempts = api.get(f"/sessions/{session['id']}/attempts", session["id"]).json()["verifications"]
    assert len(attempts) == 10
    assert [a["status"] for a in attempts] == ["resubmission_requested"] * 9 + ["declined"]


def test_decision_endpoint_answers_what_the_webhook_said(api, session, webhooks):
    before = api.get(f"/sessions/{session['id']}/decision", session["id"])
    assert before.json() == {"status": "success", "verification": None}

    choose(api, session, "decline", 103)

    after = api.get(f"/sessions/{session['id']}/decision", session["id"])
    assert after.json() == webhooks.bodies()[-1]
    assert api.is_signed(after.headers, after.content)


def test_person_endpoint_reports_the_verified_person(api, session, webhooks):
    choose(api, session, "approve")
    person = api.get(f"/sessions/{session['id']}/person", session["id"]).json()["person"]
    assert person["firstName"] == "Morton" and person["idCode"] == "48002020011"
    assert person["pepSanctionMatches"] == []


def test_unknown_or_forged_link_is_404(api, session):
    forged = jwt.encode({"session_id": session["id"]}, "a-different-secret-of-32-bytes!!", algorithm="HS256")
    assert api.client.get(f"/sandbox/veriff/v/{forged}").status_code == 404
    assert api.client.get("/sandbox/veriff/v/garbage").status_code == 404


def test_outcome_form_is_csrf_protected(api, session, webhooks):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(api.local(session["url"]))
    assert b"csrfmiddlewaretoken" in page.content

    forged = browser.post(api.local(session["url"]), {"outcome": "approve"})
    assert forged.status_code == 403
    assert webhooks.codes() == [7001]
