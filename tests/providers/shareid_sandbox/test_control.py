"""The control endpoints of the contract (exact paths), their clear JSON errors, and fault
injection."""

import base64
import io
import time

import pytest
from PIL import Image

from providers.shareid.sandbox.models import Applicant

pytestmark = pytest.mark.django_db


# --- complete -------------------------------------------------------------------------------------


def test_complete_answers_the_applicant_and_when_its_result_is_ready(shareid, receiver, settings):
    settings.SHAREID_SANDBOX_ANALYSIS_SECONDS = 0
    applicant_id = shareid.start()["applicant_id"]

    response = shareid.client.post(
        f"/sandbox/shareid/control/applicants/{applicant_id}/complete",
        {"reasons": ["doc_spoof"], "ocr": {"surname": "ROSSI"}, "doc_type": "passport", "delay": 0},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert set(response.json()) == {"applicant_id", "ready_at"}
    state = shareid.applicant(applicant_id)
    assert (state["reasons"], state["ready_at"]) == (["doc_spoof"], response.json()["ready_at"])
    assert state["document"]["type"]["doc_type"] == "passport"


def test_complete_works_whether_or_not_the_sdk_token_was_used(shareid, client, receiver):
    used = shareid.start()
    client.get(shareid.prefix + "/sdk/", {"token": used["token"]})
    unused = shareid.start()

    assert shareid.complete(used["applicant_id"]).status_code == 200
    assert shareid.complete(unused["applicant_id"]).status_code == 200


def test_a_given_delay_is_real_seconds(shareid, settings, clock):
    settings.SIM_TIME_SCALE = 0.001
    applicant_id = shareid.start(callback=None)["applicant_id"]

    shareid.complete(applicant_id, [], delay=20)

    assert shareid.fetch(applicant_id).json() == {"detail": "applicant not found"}
    clock.advance(21)
    assert shareid.fetch(applicant_id).json()["reasons"] == []


def test_completing_twice_is_409(shareid, receiver):
    applicant_id = shareid.start()["applicant_id"]
    shareid.complete(applicant_id, [])

    response = shareid.complete(applicant_id, ["doc_fraud"])

    assert response.status_code == 409
    assert "already completed" in response.json()["error"]
    assert shareid.applicant(applicant_id)["reasons"] == []


def test_completing_an_unknown_applicant_is_404(shareid):
    response = shareid.complete("ap-20240101000000000-sim0-0000000000")

    assert response.status_code == 404
    assert "No applicant" in response.json()["error"]


@pytest.mark.parametrize(
    "body, word",
    [
        ({"reasons": ["not_a_reason"]}, "unknown reason"),
        ({"reasons": "doc_spoof"}, "reasons"),
        ({}, "reasons"),
        ({"reasons": [], "delay": -1}, "delay"),
        ({"reasons": [], "ocr": {"surname": 3}}, "ocr"),
        ({"reasons": [], "doc_type": "library_card"}, "doc_type"),
    ],
)
def test_a_bad_complete_body_is_400_with_what_is_wrong(shareid, body, word):
    applicant_id = shareid.start(callback=None)["applicant_id"]

    response = shareid.control("POST", f"/applicants/{applicant_id}/complete", body)

    assert response.status_code == 400
    assert word in response.json()["error"]
    assert shareid.applicant(applicant_id)["completed"] is False


def test_a_complete_body_that_is_not_json_is_400(shareid, client):
    applicant_id = shareid.start(callback=None)["applicant_id"]

    response = client.post(
        f"/sandbox/shareid/control/applicants/{applicant_id}/complete",
        b"nope",
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json() == {"error": "The body must be a JSON object."}


def test_the_applicant_state_says_what_happened(shareid, client, clock, receiver):
    started = shareid.start()
    state = shareid.applicant(started["applicant_id"])
    assert (state["sdk_token_used"], state["completed"], state["ready_at"], state["fetch_count"]) == (
        False,
        False,
        None,
        0,
    )
    client.get(shareid.prefix + "/sdk/", {"token": started["token"]})
    shareid.complete(started["applicant_id"], ["no_doc"])
    token = shareid.fetch_token()
    shareid.fetch(started["applicant_id"], token)
    shareid.fetch(started["applicant_id"], token)

    state = shareid.applicant(started["applicant_id"])

    assert state["sdk_token_used"] is True
    assert state["completed"] is True and state["reasons"] == ["no_doc"]
    assert (state["fetch_count"], state["rate_limited_count"]) == (1, 1)
    assert state["callback"] == shareid.callback_url


def test_an_unknown_applicant_state_is_404(shareid):
    assert shareid.control("GET", "/applicants/ap-nobody").status_code == 404


def test_send_due_refuses_a_bad_body(shareid):
    response = shareid.control("POST", "/callbacks/send-due", {"all": "yes"})

    assert response.status_code == 400


# --- faults -----------------------------------------------------------------------------------------


def test_the_next_n_starts_answer_the_status_given_then_starts_work_again(shareid):
    shareid.control("POST", "/faults", {"kind": "start", "count": 2, "status": 503})

    answers = [shareid.start_response().status_code for _ in range(3)]

    assert answers == [503, 503, 200]
    assert Applicant.objects.count() == 1
    (fault,) = shareid.control("GET", "/faults").json()["faults"]
    assert (fault["remaining"], fault["hits"]) == (0, 2)


def test_a_fault_of_one_kind_leaves_the_others_alone(shareid):
    applicant_id = shareid.start()["applicant_id"]
    shareid.control("POST", "/faults", {"kind": "fetch", "count": 1, "status": 500})

    token = shareid.fetch_token()
    failed = shareid.fetch(applicant_id, token)
    answered = shareid.fetch(applicant_id, token)

    assert failed.status_code == 500
    # The failed fetch did not count against the 5-second rule.
    assert answered.status_code == 200


def test_a_hang_answers_504_after_the_hang_and_does_nothing(shareid):
    shareid.control("POST", "/faults", {"kind": "start", "count": 1, "hang": 0.3})

    started = time.monotonic()
    response = shareid.start_response()

    assert response.status_code == 504
    assert time.monotonic() - started >= 0.3
    assert not Applicant.objects.exists()


@pytest.mark.parametrize("kind", ["fetch_token", "authenticate"])
def test_token_and_authenticate_calls_can_fail_too(shareid, kind):
    applicant_id = shareid.start()["applicant_id"]
    shareid.control("POST", "/faults", {"kind": kind, "count": 1, "status": 500})

    if kind == "fetch_token":
        response = shareid.post("/flow/onboarding/fetch/auth/business", shareid.credentials)
    else:
        response = shareid.post(
            "/flow/authenticate/auth/business", {**shareid.credentials, "applicant_id": applicant_id}
        )

    assert response.status_code == 500
    assert response.json() == {"detail": "sandbox fault injection"}


def test_clear_removes_every_fault_and_switch(shareid):
    shareid.control("POST", "/faults", {"kind": "start", "count": 5, "status": 500})
    shareid.control("POST", "/faults", {"images_only_in_callback": True})

    cleared = shareid.control("POST", "/faults", {"clear": True}).json()

    assert cleared["faults"] == []
    assert cleared["switches"] == {"images_only_in_callback": False, "callback_answer_ignored": False}
    assert shareid.start_response().status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "sdk", "count": 1, "status": 500},
        {"kind": "start", "count": 0, "status": 500},
        {"kind": "start", "count": 1, "status": 404},
        {"kind": "start", "count": 1},
        {"kind": "start", "count": 1, "status": 500, "hang": 3},
        {"kind": "start", "count": 1, "hang": -1},
        {"images_only_in_callback": "yes"},
        {"mode": "error"},
    ],
)
def test_a_bad_fault_is_400_and_sets_nothing(shareid, body):
    response = shareid.control("POST", "/faults", body)

    assert response.status_code == 400
    assert response.json()["error"]
    assert shareid.control("GET", "/faults").json()["faults"] == []


def test_the_control_paths_of_the_contract(shareid, receiver):
    applicant_id = shareid.start()["applicant_id"]
    calls = [
        ("POST", f"/applicants/{applicant_id}/complete", {"reasons": []}),
        ("GET", f"/applicants/{applicant_id}", None),
        ("GET", "/callbacks", None),
        ("GET", "/stats", None),
        ("POST", "/stats/reset", None),
        ("POST", "/tokens/expire", None),
        ("POST", "/callbacks/send-due", None),
        ("GET", "/faults", None),
    ]
    for method, path, body in calls:
        response = shareid.control(method, path, body)
        assert response.status_code == 200, (path, response.content)
        assert response["Content-Type"] == "application/json"


# --- the images ----------------------------------------------------------------------------------


def test_the_images_are_real_small_and_show_the_document(shareid, receiver):
    applicant_id = shareid.start()["applicant_id"]
    shareid.complete(applicant_id, [], ocr={"surname": "MORGAN"})

    document = shareid.fetch(applicant_id).json()["document"]

    for kind, expected in [
        ("doc_front", "JPEG"),
        ("doc_back", "JPEG"),
        ("face_face", "PNG"),
        ("face_doc", "JPEG"),
    ]:
        raw = base64.b64decode(document[kind])
        image = Image.open(io.BytesIO(raw))
        image.verify()
        assert image.format == expected
        assert len(raw) < 40_000
    front = Image.open(io.BytesIO(base64.b64decode(document["doc_front"])))
    assert front.size[0] > front.size[1]  # a card, landscape


def test_the_api_and_control_take_json_posts_without_a_csrf_token(shareid, receiver):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    started = strict.post(
        "/sandbox/shareid/flow/onboarding/auth/business",
        {**shareid.credentials, "customer_data": {"reference": "r"}},
        content_type="application/json",
    )
    completed = strict.post(
        f"/sandbox/shareid/control/applicants/{started.json()['applicant_id']}/complete",
        {"reasons": []},
        content_type="application/json",
    )

    assert (started.status_code, completed.status_code) == (200, 200)
