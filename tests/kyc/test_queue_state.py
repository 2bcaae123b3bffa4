"""The review queue is stored on the session (queued_at) and must always equal its rule."""

import io

import pytest
from django.core.management import call_command

from kyc.models import ReviewReason, VerificationSession
from kyc.reviews.queue_state import review_needed_q
from kyc.services.assignment import case_assign
from kyc.services.reviews import review_confirm, review_propose, review_reject
from tests.factories import SessionFactory
from tests.kyc.conftest import decide

pytestmark = pytest.mark.django_db


def stored():
    return set(VerificationSession.objects.exclude(queued_at=None).values_list("pk", flat=True))


def rule():
    return set(VerificationSession.objects.filter(review_needed_q()).values_list("pk", flat=True))


def test_the_stored_queue_follows_every_kind_of_change(make_case, analyst, supervisor, settings):
    settings.KYC_HIGH_RISK_COUNTRIES = ["IR"]
    other = ReviewReason.objects.get(code="other")
    cases = [make_case(status) for status in ("declined", "review", "resubmission_requested", "approved")]
    cases.append(make_case("approved", country="IR"))
    assert stored() == rule() and len(stored()) == 4

    effective = review_propose(
        session_id=cases[0].pk, outcome="decline", reason=other, note="x", actor=analyst
    )
    assert cases[0].pk not in stored() and effective.state == "effective"
    waiting = review_propose(session_id=cases[3].pk, outcome="decline", reason=other, note="x", actor=analyst)
    assert cases[3].pk in stored()  # an override waiting joins the queue
    review_reject(review_id=waiting.pk, actor=supervisor, note="no")
    assert cases[3].pk not in stored()
    waiting = review_propose(session_id=cases[1].pk, outcome="approve", reason=other, note="x", actor=analyst)
    assert cases[1].pk in stored()  # approving a provider `review` waits for a second person
    review_confirm(review_id=waiting.pk, actor=supervisor)
    assert cases[1].pk not in stored()
    confirmable = review_propose(
        session_id=cases[4].pk, outcome="decline", reason=other, note="x", actor=analyst
    )
    assert cases[4].pk in stored()
    review_confirm(review_id=confirmable.pk, actor=supervisor)
    assert cases[4].pk not in stored()

    decide(cases[2], "declined")  # the customer's next attempt: a new provider result
    assert cases[2].pk in stored()
    newer = SessionFactory(customer=cases[2].customer)
    decide(newer, "review")  # a new session: the old one leaves the queue, the new one joins
    assert cases[2].pk not in stored() and newer.pk in stored()
    case_assign(session_id=newer.pk, assignee=analyst, actor=analyst)
    assert stored() == rule()


def test_refresh_review_queue_applies_a_changed_policy(make_case, settings):
    approved = make_case("approved", country="GB")
    declined = make_case("declined")
    assert stored() == {declined.pk}
    settings.KYC_REVIEW_POLICY = ["approved"]  # "always review approvals", and nothing else
    out = io.StringIO()
    call_command("refresh_review_queue", stdout=out)
    assert stored() == {approved.pk} == rule()
    assert "2 session(s) changed; 1 in the review queue" in out.getvalue()
