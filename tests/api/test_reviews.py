"""Staff decisions through the API: propose, four-eyes confirmation, rejection; people only."""

import pytest
from rest_framework.test import APIClient

from kyc.models import Review, ReviewReason
from tests.factories import SessionFactory
from tests.kyc.conftest import decide, make_staff

pytestmark = pytest.mark.django_db


def signed_in(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def reason_id(code: str) -> int:
    return ReviewReason.objects.get(code=code).pk


@pytest.fixture
def declined_case(customer):
    return decide(SessionFactory(customer=customer), "declined")


def test_an_override_needs_a_second_person_then_the_status_follows(declined_case):
    analyst, supervisor = make_staff("alice", "Analyst"), make_staff("sam", "Supervisor")
    response = signed_in(analyst).post(
        f"/api/v1/staff/cases/{declined_case.reference}/reviews/",
        {"outcome": "approve", "reason": reason_id("provider-concern-resolved"), "note": "Checked by phone."},
        format="json",
    )
    assert response.status_code == 201, response.content
    review = response.json()
    assert (review["state"], review["is_override"], review["proposed_by"]) == (
        "awaiting_confirmation",
        True,
        "alice",
    )
    declined_case.customer.refresh_from_db()
    assert declined_case.customer.kyc_status == "rejected"

    # Nobody confirms their own; the case shows the waiting override.
    own = signed_in(analyst).post(f"/api/v1/staff/reviews/{review['id']}/confirm/", format="json")
    assert own.status_code == 403
    case = signed_in(supervisor).get(f"/api/v1/staff/cases/{declined_case.reference}/").json()
    assert case["awaiting_confirmation"] is True and [r["id"] for r in case["reviews"]] == [review["id"]]

    confirmed = signed_in(supervisor).post(f"/api/v1/staff/reviews/{review['id']}/confirm/", format="json")
    assert confirmed.status_code == 200 and confirmed.json()["confirmed_by"] == "sam"
    declined_case.customer.refresh_from_db()
    assert declined_case.customer.kyc_status == "verified"
    again = signed_in(supervisor).post(f"/api/v1/staff/reviews/{review['id']}/confirm/", format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "review_refused"


def test_a_supervisor_rejects_an_override_with_a_note(declined_case):
    analyst, supervisor = make_staff("alice", "Analyst"), make_staff("sam", "Supervisor")
    review = Review.objects.create(
        session=declined_case,
        customer=declined_case.customer,
        provider_status="declined",
        outcome="approve",
        reason=ReviewReason.objects.get(code="provider-concern-resolved"),
        note="x",
        is_override=True,
        state="awaiting_confirmation",
        proposed_by=analyst,
        proposed_at=declined_case.decided_at,
    )
    url = f"/api/v1/staff/reviews/{review.pk}/reject/"
    missing = signed_in(supervisor).post(url, {}, format="json")
    assert missing.status_code == 400 and "note" in missing.json()["error"]["fields"]
    response = signed_in(supervisor).post(url, {"note": "Not convinced."}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "rejected"


def test_an_auditor_may_read_but_not_decide(declined_case):
    auditor = make_staff("audrey", "Auditor")
    client = signed_in(auditor)
    assert client.get(f"/api/v1/staff/cases/{declined_case.reference}/").status_code == 200
    response = client.post(
        f"/api/v1/staff/cases/{declined_case.reference}/reviews/",
        {"outcome": "decline", "reason": reason_id("suspected-fraud"), "note": "x"},
        format="json",
    )
    assert response.status_code == 403 and not Review.objects.exists()


def test_a_reason_that_does_not_fit_the_outcome_is_refused(declined_case):
    analyst = make_staff("alice", "Analyst")
    response = signed_in(analyst).post(
        f"/api/v1/staff/cases/{declined_case.reference}/reviews/",
        {"outcome": "approve", "reason": reason_id("suspected-fraud"), "note": "x"},
        format="json",
    )
    assert response.status_code == 409 and "not a reason to approve" in response.json()["error"]["message"]


def test_an_api_key_cannot_take_staff_decisions(staff_api, declined_case):
    make_staff("alice", "Analyst")  # (the reasons exist)
    response = staff_api.post(
        f"/api/v1/staff/cases/{declined_case.reference}/reviews/",
        {"outcome": "decline", "reason": reason_id("suspected-fraud"), "note": "x"},
        format="json",
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "person_required"
    reasons = staff_api.get("/api/v1/staff/review-reasons/").json()
    assert {"code": "suspected-fraud"}.items() <= next(
        r for r in reasons if r["code"] == "suspected-fraud"
    ).items()


def test_the_queue_is_the_back_office_queue(staff_api, customer):
    from tests.factories import CustomerFactory

    declined = decide(SessionFactory(customer=customer), "declined")
    approved = decide(SessionFactory(customer=CustomerFactory()), "approved")
    ids = [c["id"] for c in staff_api.get("/api/v1/staff/review-queue/").json()["results"]]
    assert str(declined.reference) in ids and str(approved.reference) not in ids


def test_a_waiting_decision_blocks_the_next_until_withdrawn(declined_case):
    """Issue 12, rule 3, through the API: a third person's decision is refused, not a replacement."""
    analyst, analyst2 = make_staff("alice", "Analyst"), make_staff("arthur", "Analyst")
    url = f"/api/v1/staff/cases/{declined_case.reference}/reviews/"
    body = {"outcome": "approve", "reason": reason_id("provider-concern-resolved"), "note": "Checked."}
    review = signed_in(analyst).post(url, body, format="json").json()
    other = signed_in(analyst2).post(
        url, {"outcome": "decline", "reason": reason_id("suspected-fraud"), "note": "No."}, format="json"
    )
    assert other.status_code == 409 and "assigned to alice" in other.json()["error"]["message"]
    mine = signed_in(analyst).post(
        url, {"outcome": "decline", "reason": reason_id("suspected-fraud"), "note": "No."}, format="json"
    )
    assert mine.status_code == 409 and "withdrawn" in mine.json()["error"]["message"]
    refused = signed_in(analyst2).post(f"/api/v1/staff/reviews/{review['id']}/withdraw/", format="json")
    assert refused.status_code == 403
    withdrawn = signed_in(analyst).post(f"/api/v1/staff/reviews/{review['id']}/withdraw/", format="json")
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    again = signed_in(analyst).post(
        url, {"outcome": "decline", "reason": reason_id("suspected-fraud"), "note": "No."}, format="json"
    )
    assert again.status_code == 201 and again.json()["state"] == "effective"
