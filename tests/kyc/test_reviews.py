"""Final decisions on top of the provider's, four-eyes, and the customer's status following them."""

import pytest
from django.core.exceptions import PermissionDenied

from kyc.models import AuditEvent, Customer, Review, ReviewReason
from kyc.queue import review_queue
from kyc.services.reviews import ReviewError, review_confirm, review_propose, review_reject
from tests.kyc.conftest import decide

pytestmark = pytest.mark.django_db


def reason(code):
    return ReviewReason.objects.get(code=code)


def kyc_status(session):
    return Customer.objects.get(pk=session.customer_id).kyc_status


def in_queue(session):
    return review_queue().filter(pk=session.pk).exists()


def test_a_decision_that_agrees_with_the_provider_takes_effect_at_once(make_case, analyst):
    session = make_case("declined")
    assert in_queue(session)
    review = review_propose(
        session_id=session.pk,
        outcome="decline",
        reason=reason("suspected-fraud"),
        note="Forged MRZ.",
        actor=analyst,
    )
    assert (review.state, review.is_override, review.effective_at is not None) == ("effective", False, True)
    assert review.provider_decision == session.decisions.get()
    assert kyc_status(session) == Customer.KycStatus.REJECTED
    assert not in_queue(session)


def test_an_override_waits_for_a_supervisor_and_then_the_customer_status_follows(
    make_case, analyst, supervisor
):
    session = make_case("declined")
    review = review_propose(
        session_id=session.pk,
        outcome="approve",
        reason=reason("provider-concern-resolved"),
        note="Video call: same person.",
        actor=analyst,
    )
    assert (review.state, review.is_override) == ("awaiting_confirmation", True)
    assert kyc_status(session) == Customer.KycStatus.REJECTED  # not yet
    assert review_queue().get(pk=session.pk).awaiting_confirmation

    review_confirm(review_id=review.pk, actor=supervisor)
    review.refresh_from_db()
    assert (review.state, review.confirmed_by) == ("effective", supervisor)
    assert kyc_status(session) == Customer.KycStatus.VERIFIED
    assert not in_queue(session)
    changed = AuditEvent.objects.filter(action="customer.kyc_status_changed", actor=supervisor).get()
    assert changed.after == {"kyc_status": "verified"}


def test_nobody_confirms_or_rejects_their_own_override(make_case, supervisor):
    session = make_case("approved")
    review = review_propose(
        session_id=session.pk,
        outcome="decline",
        reason=reason("sanctions-pep-match"),
        note="List hit.",
        actor=supervisor,
    )
    with pytest.raises(PermissionDenied):
        review_confirm(review_id=review.pk, actor=supervisor)
    with pytest.raises(PermissionDenied):
        review_reject(review_id=review.pk, actor=supervisor, note="no")
    review.refresh_from_db()
    assert review.state == "awaiting_confirmation"
    assert kyc_status(session) == Customer.KycStatus.VERIFIED


def test_an_analyst_cannot_confirm_an_override(make_case, analyst, analyst2):
    session = make_case("declined")
    review = review_propose(
        session_id=session.pk, outcome="approve", reason=reason("other"), note="Looks fine.", actor=analyst
    )
    with pytest.raises(PermissionDenied):
        review_confirm(review_id=review.pk, actor=analyst2)


def test_a_rejected_override_leaves_the_provider_decision_standing(make_case, analyst, supervisor):
    session = make_case("declined")
    review = review_propose(
        session_id=session.pk,
        outcome="approve",
        reason=reason("other"),
        note="I think it is fine.",
        actor=analyst,
    )
    with pytest.raises(ReviewError):
        review_reject(review_id=review.pk, actor=supervisor, note="  ")
    review_reject(review_id=review.pk, actor=supervisor, note="Tampering is visible on the front.")
    review.refresh_from_db()
    assert (review.state, review.rejected_by) == ("rejected", supervisor)
    assert kyc_status(session) == Customer.KycStatus.REJECTED
    with pytest.raises(ReviewError):
        review_confirm(review_id=review.pk, actor=supervisor)  # too late: it was rejected


@pytest.mark.parametrize(
    ("outcome", "code", "note", "message"),
    [
        ("approve", "suspected-fraud", "x", "not a reason to approve"),
        ("decline", None, "x", "Choose a reason"),
        ("decline", "suspected-fraud", "   ", "note"),
        ("maybe", "other", "x", "Choose approve, decline or request resubmission"),
    ],
)
def test_reason_from_the_list_and_a_note_are_required(make_case, analyst, outcome, code, note, message):
    session = make_case("declined")
    with pytest.raises(ReviewError, match=message):
        review_propose(
            session_id=session.pk,
            outcome=outcome,
            reason=reason(code) if code else 0,
            note=note,
            actor=analyst,
        )
    assert not Review.objects.exists()


def test_an_inactive_reason_cannot_be_chosen(make_case, analyst):
    session = make_case("declined")
    ReviewReason.objects.filter(code="suspected-fraud").update(active=False)
    with pytest.raises(ReviewError):
        review_propose(
            session_id=session.pk,
            outcome="decline",
            reason=reason("suspected-fraud"),
            note="x",
            actor=analyst,
        )


def test_no_final_decision_before_the_provider_has_decided(make_case, analyst):
    session = make_case(None)
    with pytest.raises(ReviewError, match="needs the provider's result"):
        review_propose(
            session_id=session.pk, outcome="approve", reason=reason("other"), note="x", actor=analyst
        )


def test_provider_review_is_left_to_us_so_any_outcome_is_not_an_override(make_case, analyst, settings):
    settings.KYC_FOUR_EYES_APPROVALS = []  # (by default its approval needs a second person: below)
    session = make_case("review")
    assert kyc_status(session) == Customer.KycStatus.IN_REVIEW and in_queue(session)
    review = review_propose(
        session_id=session.pk,
        outcome="approve",
        reason=reason("manual-document-check-passed"),
        note="Checked.",
        actor=analyst,
    )
    assert (review.is_override, review.state) == (False, "effective")
    assert kyc_status(session) == Customer.KycStatus.VERIFIED


def test_staff_resubmission_request_asks_the_customer_to_act(make_case, analyst):
    session = make_case("review")
    review_propose(
        session_id=session.pk,
        outcome="request_resubmission",
        reason=reason("photos-unusable"),
        note="Glare.",
        actor=analyst,
    )
    assert kyc_status(session) == Customer.KycStatus.ACTION_REQUIRED


def test_a_new_proposal_does_not_replace_the_one_waiting(make_case, analyst, supervisor):
    session = make_case("declined")
    first = review_propose(
        session_id=session.pk, outcome="approve", reason=reason("other"), note="a", actor=analyst
    )
    with pytest.raises(ReviewError, match="withdrawn"):
        review_propose(
            session_id=session.pk,
            outcome="request_resubmission",
            reason=reason("photos-unusable"),
            note="b",
            actor=analyst,
        )
    first.refresh_from_db()
    assert first.state == "awaiting_confirmation" and Review.objects.count() == 1


def test_a_later_staff_decision_supersedes_the_earlier_one(make_case, analyst, supervisor):
    session = make_case("approved", country="IR")  # high risk: held for review
    first = review_propose(
        session_id=session.pk,
        outcome="approve",
        reason=reason("manual-document-check-passed"),
        note="ok",
        actor=analyst,
    )
    review_confirm(review_id=first.pk, actor=supervisor)  # a held approval needs a second person
    assert kyc_status(session) == Customer.KycStatus.VERIFIED
    second = review_propose(
        session_id=session.pk,
        outcome="decline",
        reason=reason("outside-risk-appetite"),
        note="policy",
        actor=analyst,
    )
    review_confirm(review_id=second.pk, actor=supervisor)
    first.refresh_from_db()
    assert first.state == "superseded"
    assert kyc_status(session) == Customer.KycStatus.REJECTED


def test_a_new_provider_decision_supersedes_staff_decisions(make_case, analyst, settings):
    session = make_case("resubmission_requested")
    review = review_propose(
        session_id=session.pk,
        outcome="request_resubmission",
        reason=reason("photos-unusable"),
        note="x",
        actor=analyst,
    )
    assert kyc_status(session) == Customer.KycStatus.ACTION_REQUIRED
    decide(session, "approved")  # the customer's next attempt
    review.refresh_from_db()
    assert review.state == "superseded"
    assert kyc_status(session) == Customer.KycStatus.VERIFIED
    assert AuditEvent.objects.filter(action="review.superseded", session=session).exists()


def test_reviews_are_never_deleted(make_case, analyst):
    session = make_case("declined")
    review = review_propose(
        session_id=session.pk, outcome="decline", reason=reason("suspected-fraud"), note="x", actor=analyst
    )
    with pytest.raises(PermissionError):
        review.delete()


def test_every_step_is_audited_without_the_note(make_case, analyst, supervisor):
    session = make_case("declined")
    review = review_propose(
        session_id=session.pk,
        outcome="approve",
        reason=reason("other"),
        note="Sarah's passport is fine",
        actor=analyst,
    )
    review_confirm(review_id=review.pk, actor=supervisor)
    actions = list(
        AuditEvent.objects.filter(object_type="kyc.review", object_id=str(review.pk)).values_list(
            "action", "actor"
        )
    )
    assert sorted(actions) == sorted([("review.proposed", analyst.pk), ("review.confirmed", supervisor.pk)])
    assert not any("passport" in str(e.after) + str(e.before) for e in AuditEvent.objects.all())


# --- the review policy ---------------------------------------------------------------------------
def test_approvals_from_high_risk_countries_wait_for_a_person(make_case, settings):
    settings.KYC_HIGH_RISK_COUNTRIES = ["IR"]
    risky, ordinary = make_case("approved", country="IR"), make_case("approved", country="GB")
    assert (kyc_status(risky), in_queue(risky)) == (Customer.KycStatus.IN_REVIEW, True)
    assert (kyc_status(ordinary), in_queue(ordinary)) == (Customer.KycStatus.VERIFIED, False)


def test_always_review_policy_sends_every_approval_to_the_queue(make_case, settings):
    settings.KYC_REVIEW_POLICY = ["approved", "declined"]
    approved, resubmit = make_case("approved", country="GB"), make_case("resubmission_requested")
    assert in_queue(approved) and kyc_status(approved) == Customer.KycStatus.IN_REVIEW
    assert not in_queue(resubmit)


def test_an_unknown_policy_rule_stops_the_app_at_start_up(monkeypatch):
    import importlib

    from django.core.exceptions import ImproperlyConfigured

    import config.settings as config_settings
    from kyc.reviews import policy

    assert config_settings._REVIEW_RULES == policy.RULES  # one list of rule names
    monkeypatch.setenv("KYC_REVIEW_POLICY", "declined,approvd")
    try:
        with pytest.raises(ImproperlyConfigured, match="approvd"):
            importlib.reload(config_settings)
    finally:
        monkeypatch.undo()
        importlib.reload(config_settings)


def test_a_customer_moving_to_a_high_risk_country_goes_back_to_review(make_case, settings, analyst):
    from kyc.services import customers

    settings.KYC_HIGH_RISK_COUNTRIES = ["IR"]
    session = make_case("approved", country="GB")
    customer = Customer.objects.get(pk=session.customer_id)
    customer.country = "ir"
    customers.customer_update(customer=customer, changed=["country"], actor=analyst)
    assert kyc_status(session) == Customer.KycStatus.IN_REVIEW and in_queue(session)
