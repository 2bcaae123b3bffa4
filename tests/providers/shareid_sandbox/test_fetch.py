"""Fetch tokens and fetches: the token's scaled lifetime and 401, "not ready" as a 200, the
5-second rule with 429 and Retry-After, the result's shape, and what control/stats counts."""

import base64
import io

import pytest
from PIL import Image

pytestmark = pytest.mark.django_db


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- fetch tokens --------------------------------------------------------------------------------


def test_a_fetch_token_serves_many_fetches_and_every_issuance_is_counted(shareid, clock):
    shareid.control("POST", "/stats/reset")
    applicant_id = shareid.start()["applicant_id"]
    token = shareid.fetch_token()

    for _ in range(3):
        assert shareid.fetch(applicant_id, token).status_code == 200
        clock.advance(5)
    shareid.fetch_token()

    assert shareid.stats()["fetch_tokens_issued"] == 2
    assert shareid.stats()["fetches"] == 3


def test_a_fetch_token_expires_after_its_scaled_lifetime(shareid, clock, settings):
    settings.SIM_TIME_SCALE = 0.01  # 600 s → 6 s
    applicant_id = shareid.start()["applicant_id"]
    token = shareid.fetch_token()
    clock.advance(5.5)
    assert shareid.fetch(applicant_id, token).status_code == 200

    clock.advance(1)
    response = shareid.fetch(applicant_id, token)

    assert response.status_code == 401
    assert response.json() == {"detail": "invalid token"}
    # A new token works at once: the refused call did not count against the 5-second rule.
    clock.advance(5)
    assert shareid.fetch(applicant_id, shareid.fetch_token()).status_code == 200


def test_the_default_lifetime_is_ten_minutes(shareid, clock):
    applicant_id = shareid.start()["applicant_id"]
    token = shareid.fetch_token()

    clock.advance(599)
    assert shareid.fetch(applicant_id, token).status_code == 200
    clock.advance(2)
    assert shareid.fetch(applicant_id, token).status_code == 401


@pytest.mark.parametrize("authorization", ["Bearer nope", "", "Basic abc", "Bearer "])
def test_an_unknown_or_missing_fetch_token_is_401_and_counted(shareid, authorization):
    applicant_id = shareid.start()["applicant_id"]

    response = shareid.post(
        "/flow/onboarding/fetch", {"applicant_id": applicant_id}, Authorization=authorization
    )

    assert response.status_code == 401
    assert response.json() == {"detail": "invalid token"}
    assert shareid.stats()["unauthorized"] == 1
    assert shareid.applicant(applicant_id)["fetch_count"] == 0


def test_control_expires_every_fetch_token(shareid):
    applicant_id = shareid.start()["applicant_id"]
    token = shareid.fetch_token()

    assert shareid.control("POST", "/tokens/expire").json() == {"expired": 1}
    assert shareid.fetch(applicant_id, token).status_code == 401


def test_a_token_opens_only_the_fetches_of_its_kind(shareid):
    applicant_id = shareid.start()["applicant_id"]
    authenticate_token = shareid.fetch_token("authenticate")

    assert shareid.fetch(applicant_id, authenticate_token).status_code == 401


# --- not ready, ready ----------------------------------------------------------------------------


def test_not_ready_is_a_200_that_says_applicant_not_found_until_the_analysis_is_over(
    shareid, clock, settings
):
    settings.SHAREID_SANDBOX_ANALYSIS_SECONDS = 30
    settings.SIM_TIME_SCALE = 0.5  # 15 s
    applicant_id = shareid.start(callback=None)["applicant_id"]
    token = shareid.fetch_token()

    before = shareid.fetch(applicant_id, token)
    shareid.complete(applicant_id, [])
    clock.advance(14)
    during = shareid.fetch(applicant_id, token)
    clock.advance(6)
    after = shareid.fetch(applicant_id, token)

    assert (before.status_code, before.json()) == (200, {"detail": "applicant not found"})
    assert (during.status_code, during.json()) == (200, {"detail": "applicant not found"})
    assert after.status_code == 200
    assert after.json()["reasons"] == []


def test_an_unknown_applicant_is_not_ready_too(shareid):
    response = shareid.fetch("ap-20240101000000000-sim0-0000000000")

    assert (response.status_code, response.json()) == (200, {"detail": "applicant not found"})
    assert shareid.stats()["fetches"] == 1


def test_an_applicant_who_left_stays_not_ready(shareid, client, clock):
    started = shareid.start(callback=None)
    page = client.get(shareid.prefix + "/sdk/", {"token": started["token"]})
    client.post(
        shareid.prefix + "/sdk/finish",
        {"token": started["token"], "page_key": page.context["sdk"].page_key, "outcome": "leave"},
    )
    clock.advance(3600)

    assert shareid.fetch(started["applicant_id"]).json() == {"detail": "applicant not found"}


def decoded_image(value: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(value, validate=True)))


def test_a_ready_result_has_shareids_shape_and_the_four_images(shareid):
    applicant_id = shareid.start()["applicant_id"]
    shareid.complete(applicant_id, ["doc_expired"], ocr={"surname": "MORGAN", "birth_date": "1988-02-29"})

    result = shareid.fetch(applicant_id).json()

    assert set(result) == {"applicant_id", "reasons", "document"}  # no customer_data in a fetch
    assert result["applicant_id"] == applicant_id
    assert result["reasons"] == ["doc_expired"]
    document = result["document"]
    assert document["type"] == {"doc_type": "id_card", "doc_model": "2021", "country_code": "fr"}
    assert document["ocr"]["surname"] == "MORGAN"
    assert document["ocr"]["birth_date"] == "1988-02-29"
    assert document["ocr"]["name"]  # the defaults fill what the override leaves out
    formats = {kind: decoded_image(document[kind]).format for kind in ("doc_front", "doc_back", "face_doc")}
    assert formats == {"doc_front": "JPEG", "doc_back": "JPEG", "face_doc": "JPEG"}
    assert decoded_image(document["face_face"]).format == "PNG"


def test_without_document_capture_the_images_are_null(shareid):
    applicant_id = shareid.start(callback_with_document_capture=False)["applicant_id"]
    shareid.complete(applicant_id, [])

    document = shareid.fetch(applicant_id).json()["document"]

    assert [document[k] for k in ("doc_front", "doc_back", "face_face", "face_doc")] == [None] * 4


def test_images_only_in_the_callback_leaves_the_fetch_without_them(shareid, receiver):
    shareid.control("POST", "/faults", {"images_only_in_callback": True})
    applicant_id = shareid.start()["applicant_id"]
    shareid.complete(applicant_id, [])

    fetched = shareid.fetch(applicant_id).json()["document"]

    assert fetched["doc_front"] is None and fetched["face_face"] is None
    (delivered,) = receiver.requests
    import json

    assert decoded_image(json.loads(delivered.body)["document"]["doc_front"]).format == "JPEG"


# --- the 5-second rule ---------------------------------------------------------------------------


def test_a_second_fetch_within_five_seconds_is_429_with_retry_after_and_counted(shareid, clock):
    applicant_id = shareid.start()["applicant_id"]
    token = shareid.fetch_token()
    assert shareid.fetch(applicant_id, token).status_code == 200

    clock.advance(1.2)
    refused = shareid.fetch(applicant_id, token)

    assert refused.status_code == 429
    assert refused.json() == {"detail": "too many calls"}
    assert refused["Retry-After"] == "4"
    assert shareid.stats()["rate_limited"] == 1
    state = shareid.applicant(applicant_id)
    assert (state["fetch_count"], state["rate_limited_count"]) == (1, 1)


def test_the_window_counts_from_the_last_answered_fetch_not_the_refused_one(shareid, clock):
    applicant_id = shareid.start()["applicant_id"]
    token = shareid.fetch_token()
    shareid.fetch(applicant_id, token)
    clock.advance(4.5)
    assert shareid.fetch(applicant_id, token).status_code == 429

    clock.advance(0.5)
    answered = shareid.fetch(applicant_id, token)

    assert answered.status_code == 200
    assert shareid.applicant(applicant_id)["fetch_count"] == 2


def test_retry_after_is_at_least_one_second(shareid, clock):
    applicant_id = shareid.start()["applicant_id"]
    token = shareid.fetch_token()
    shareid.fetch(applicant_id, token)
    clock.advance(4.9)

    assert shareid.fetch(applicant_id, token)["Retry-After"] == "1"


def test_the_rule_is_per_applicant(shareid):
    first, second = shareid.start()["applicant_id"], shareid.start()["applicant_id"]
    token = shareid.fetch_token()

    assert shareid.fetch(first, token).status_code == 200
    assert shareid.fetch(second, token).status_code == 200


def test_the_rule_is_not_scaled_by_the_sandbox_clock(shareid, clock, settings):
    settings.SIM_TIME_SCALE = 0.001
    applicant_id = shareid.start()["applicant_id"]
    token = shareid.fetch_token()
    shareid.fetch(applicant_id, token)
    clock.advance(0.01)  # far longer than 5 s × 0.001

    assert shareid.fetch(applicant_id, token).status_code == 429


def test_stats_reset_zeroes_the_totals(shareid, clock):
    applicant_id = shareid.start()["applicant_id"]
    token = shareid.fetch_token()
    shareid.fetch(applicant_id, token)
    shareid.fetch(applicant_id, token)

    reset = shareid.control("POST", "/stats/reset").json()

    assert reset == {"fetch_tokens_issued": 0, "fetches": 0, "rate_limited": 0, "unauthorized": 0}
    # The rule itself is untouched by a reset.
    assert shareid.fetch(applicant_id, token).status_code == 429


# --- authenticate ----------------------------------------------------------------------------------


def test_an_authenticate_flow_is_fetched_by_flow_id_with_face_reasons(shareid, clock):
    applicant_id = shareid.start(callback=None)["applicant_id"]
    flow_id = shareid.post(
        "/flow/authenticate/auth/business", {**shareid.credentials, "applicant_id": applicant_id}
    ).json()["flow_id"]
    token = shareid.fetch_token("authenticate")

    def fetch():
        return shareid.post("/flow/authenticate/fetch", {"flow_id": flow_id}, **bearer(token))

    assert fetch().json() == {"detail": "applicant not found"}
    assert (
        shareid.control("POST", f"/flows/{flow_id}/complete", {"reasons": ["face_spoof"]}).status_code == 200
    )
    assert fetch().status_code == 429
    clock.advance(5)
    assert fetch().json() == {"flow_id": flow_id, "applicant_id": applicant_id, "reasons": ["face_spoof"]}
    assert (
        shareid.control("POST", f"/flows/{flow_id}/complete", {"reasons": ["doc_spoof"]}).status_code == 400
    )


def test_a_malformed_flow_id_is_not_ready(shareid):
    token = shareid.fetch_token("authenticate")

    response = shareid.post("/flow/authenticate/fetch", {"flow_id": "not-a-uuid"}, **bearer(token))

    assert response.json() == {"detail": "applicant not found"}


def test_a_fetch_without_an_id_is_422(shareid):
    token = shareid.fetch_token()

    response = shareid.post("/flow/onboarding/fetch", {}, **bearer(token))

    assert response.status_code == 422
    assert response.json() == {"detail": "applicant_id is required"}
