"""Issue 12, rules 1–3: a decline stays in the customer's case until a person closes it, whatever
the customer does next; risky approvals need a second person; assignment is a lock and a waiting
proposal is never silently replaced."""

import uuid

import pytest
from django.core.exceptions import PermissionDenied

from kyc import selectors
from kyc.models import AuditEvent, Customer, Review, ReviewReason, VerificationSession
from kyc.queue import case_detail, review_queue
from kyc.services import sessions
from kyc.services.assignment import case_assign
from kyc.services.case_actions import case_start_new_session
from kyc.services.reviews import ReviewError, review_confirm, review_propose, review_reject
from providers.registry import get_provider
from tests.kyc.conftest import decide

pytestmark = pytest.mark.django_db


def reason(code):
    return ReviewReason.objects.get(code=code)


def kyc_status(session):
    return Customer.objects.get(pk=session.customer_id).kyc_status


def queue():
    return list(review_queue().values_list("pk", flat=True))


def customer_starts_again(session) -> VerificationSession | None:
    """What the return page's "Start a new verification" does; None when it is refused. The new
    session gets a provider id as the worker would give it (no HTTP in these tests)."""
    customer = Customer.objects.get(pk=session.customer_id)
    try:
        new, created = sessions.verification_start_or_resume(customer=customer, actor_label="end-user")
    except sessions.VerificationRefused:
        return None
    assert created
    VerificationSession.objects.filter(pk=new.pk).update(provider_session_id=str(uuid.uuid4()))
    new.refresh_from_db()
    return new


# --- rule 1: a decline stays in the queue -----------------------------------------------------------
def test_veriff_names_which_decline_reasons_are_fraud_and_which_the_customer_can_put_right():
    veriff = get_provider("veriff")
    assert {
        code: veriff.decline_reason_kind(code) for code in ("102", "103", "105", "106", "107", "109")
    } == {code: "fraud" for code in ("102", "103", "105", "106", "107", "109")}
    assert veriff.decline_reason_kind("101") == veriff.decline_reason_kind("204") == "quality"
    assert veriff.decline_reason_kind("999") == ""


def test_after_a_fraud_decline_the_customer_cannot_start_again_and_the_case_stays_queued(make_case):
    declined = make_case("declined", reason_code=106)
    assert customer_starts_again(declined) is None
    assert VerificationSession.objects.filter(customer_id=declined.customer_id).count() == 1
    assert queue() == [declined.pk] and kyc_status(declined) == Customer.KycStatus.REJECTED


def test_a_decline_without_a_known_reason_waits_for_a_person_too(make_case):
    declined = make_case("declined", reason_code=999)
    assert selectors.verification_restart_refusal(declined.customer) == selectors.DECLINED


def test_which_reasons_allow_a_restart_is_a_setting(make_case, settings):
    settings.KYC_RESTART_ALLOWED_REASONS = ["veriff:106"]
    assert customer_starts_again(make_case("declined", reason_code=106)) is not None
    assert customer_starts_again(make_case("declined", reason_code=101)) is None  # "quality" not listed


def test_a_quality_decline_lets_the_customer_restart_but_the_case_stays_open_until_a_person_closes_it(
    make_case, analyst, supervisor
):
    declined = make_case("declined", reason_code=101)
    case_assign(session_id=declined.pk, assignee=analyst, actor=analyst)
    new = customer_starts_again(declined)
    assert new is not None
    # The new session joins the open case: one queue row, the customer's latest session, still
    # worked by the same analyst, and the clock still runs from the decline.
    assert queue() == [new.pk]
    new.refresh_from_db()
    declined.refresh_from_db()
    assert new.assignee == analyst and new.queued_at == declined.decided_at

    decide(new, "approved")
    assert kyc_status(new) == Customer.KycStatus.IN_REVIEW  # not verified: nobody closed the decline
    assert queue() == [new.pk]
    detail = case_detail(new.pk)
    assert [s.pk for s in detail.open_earlier] == [declined.pk]  # the case page shows the decline

    review = review_propose(
        session_id=new.pk,
        outcome="approve",
        reason=reason("manual-document-check-passed"),
        note="Second attempt with the real document.",
        actor=analyst,
    )
    assert review.state == "awaiting_confirmation" and review.four_eyes == ["earlier_decline"]
    review_confirm(review_id=review.pk, actor=supervisor)
    assert kyc_status(new) == Customer.KycStatus.VERIFIED and queue() == []


def test_a_new_session_staff_start_after_a_fraud_decline_joins_the_case(make_case, analyst):
    declined = make_case("declined", reason_code=106)
    new = case_start_new_session(session_id=declined.pk, actor=analyst)
    VerificationSession.objects.filter(pk=new.pk).update(provider_session_id=str(uuid.uuid4()))
    new.refresh_from_db()
    assert queue() == [new.pk]
    decide(new, "approved")
    assert kyc_status(new) == Customer.KycStatus.IN_REVIEW and queue() == [new.pk]


def test_closing_the_decline_while_the_new_session_runs_still_holds_its_approval(make_case, analyst):
    declined = make_case("declined", reason_code=101)
    new = customer_starts_again(declined)
    review_propose(
        session_id=declined.pk,
        outcome="decline",
        reason=reason("suspected-fraud"),
        note="Looked at it: a screen photo.",
        actor=analyst,
    )
    assert queue() == []  # closed; the new session has no result yet
    decide(new, "approved")
    # An approval after a decline is looked at by a person.
    assert kyc_status(new) == Customer.KycStatus.IN_REVIEW and queue() == [new.pk]


def test_a_provider_review_also_stays_in_the_case(make_case):
    reviewed = make_case("review")
    new = sessions.verification_start(customer=reviewed.customer, actor_label="end-user")
    assert queue() == [new.pk]


# --- rule 2: risky approvals need a second person ---------------------------------------------------
@pytest.mark.parametrize(
    ("status", "country", "four_eyes"),
    [("approved", "IR", ["held_by_policy"]), ("review", "GB", ["provider_review"])],
)
def test_a_risky_approval_waits_for_a_second_person(
    make_case, analyst, supervisor, settings, status, country, four_eyes
):
    settings.KYC_HIGH_RISK_COUNTRIES = ["IR"]
    session = make_case(status, country=country)
    review = review_propose(
        session_id=session.pk,
        outcome="approve",
        reason=reason("manual-document-check-passed"),
        note="Checked.",
        actor=analyst,
    )
    assert (review.state, review.is_override, review.four_eyes) == ("awaiting_confirmation", False, four_eyes)
    assert kyc_status(session) == Customer.KycStatus.IN_REVIEW and queue() == [session.pk]
    assert review_queue().get(pk=session.pk).awaiting_confirmation
    with pytest.raises(PermissionDenied):
        review_confirm(review_id=review.pk, actor=analyst)
    review_confirm(review_id=review.pk, actor=supervisor)
    assert kyc_status(session) == Customer.KycStatus.VERIFIED and queue() == []


def test_an_approval_of_a_customer_declined_before_waits_for_a_second_person(make_case, analyst, supervisor):
    first = make_case("declined", reason_code=101)
    review_propose(
        session_id=first.pk, outcome="decline", reason=reason("other"), note="Screen photo.", actor=analyst
    )
    new = customer_starts_again(first)
    assert new is None  # a person's decline: staff start again
    new = case_start_new_session(session_id=first.pk, actor=analyst)
    VerificationSession.objects.filter(pk=new.pk).update(provider_session_id=str(uuid.uuid4()))
    new.refresh_from_db()
    decide(new, "approved")
    review = review_propose(
        session_id=new.pk, outcome="approve", reason=reason("other"), note="Fine now.", actor=analyst
    )
    assert review.state == "awaiting_confirmation" and review.four_eyes == ["earlier_decline"]
    assert kyc_status(new) == Customer.KycStatus.IN_REVIEW


def test_which_approvals_need_a_second_person_is_a_setting(make_case, analyst, settings):
    settings.KYC_HIGH_RISK_COUNTRIES = ["IR"]
    settings.KYC_FOUR_EYES_APPROVALS = ["provider_review"]
    session = make_case("approved", country="IR")
    review = review_propose(
        session_id=session.pk, outcome="approve", reason=reason("other"), note="ok", actor=analyst
    )
    assert review.state == "effective" and kyc_status(session) == Customer.KycStatus.VERIFIED


def test_only_approvals_wait_by_the_four_eyes_policy(make_case, analyst, settings):
    settings.KYC_HIGH_RISK_COUNTRIES = ["IR"]
    session = make_case("approved", country="IR")
    review = review_propose(
        session_id=session.pk,
        outcome="decline",
        reason=reason("outside-risk-appetite"),
        note="x",
        actor=analyst,
    )
    assert review.state == "awaiting_confirmation" and review.is_override  # an override, as before
    session = make_case("review", country="IR")
    review = review_propose(
        session_id=session.pk, outcome="decline", reason=reason("suspected-fraud"), note="x", actor=analyst
    )
    assert review.state == "effective" and review.four_eyes == []


# --- rule 3: assignment is a lock -------------------------------------------------------------------
def test_only_the_assignee_decides(make_case, analyst, analyst2):
    session = make_case("declined")
    case_assign(session_id=session.pk, assignee=analyst2, actor=analyst2)
    with pytest.raises(ReviewError, match="assigned to arthur"):
        review_propose(
            session_id=session.pk,
            outcome="decline",
            reason=reason("suspected-fraud"),
            note="x",
            actor=analyst,
        )
    assert not Review.objects.exists() and queue() == [session.pk]


def test_deciding_an_unassigned_case_takes_it(make_case, analyst, analyst2):
    session = make_case("declined")
    review_propose(session_id=session.pk, outcome="approve", reason=reason("other"), note="x", actor=analyst)
    session.refresh_from_db()
    assert session.assignee == analyst
    assert AuditEvent.objects.filter(action="case.assigned", session=session, actor=analyst).exists()


def test_a_pending_override_is_never_silently_replaced(make_case, analyst, analyst2, supervisor, supervisor2):
    from kyc.services.reviews import review_withdraw

    session = make_case("declined")
    case_assign(session_id=session.pk, assignee=analyst2, actor=analyst2)
    # A supervisor takes the case over (audited as such) and proposes an override.
    case_assign(session_id=session.pk, assignee=supervisor, actor=supervisor)
    taken = AuditEvent.objects.get(action="case.taken_over", session=session)
    assert (taken.actor, taken.before, taken.after) == (
        supervisor,
        {"assignee_id": analyst2.pk},
        {"assignee_id": supervisor.pk},
    )
    override = review_propose(
        session_id=session.pk, outcome="approve", reason=reason("other"), note="Video call.", actor=supervisor
    )
    # A third person's decision neither takes effect nor replaces the waiting override.
    for someone in (analyst, analyst2):
        with pytest.raises(ReviewError):
            review_propose(
                session_id=session.pk,
                outcome="decline",
                reason=reason("suspected-fraud"),
                note="x",
                actor=someone,
            )
    case_assign(session_id=session.pk, assignee=analyst2, actor=supervisor2)
    with pytest.raises(ReviewError, match="withdrawn"):
        review_propose(
            session_id=session.pk,
            outcome="decline",
            reason=reason("suspected-fraud"),
            note="x",
            actor=analyst2,
        )
    override.refresh_from_db()
    assert override.state == "awaiting_confirmation" and Review.objects.count() == 1
    assert kyc_status(session) == Customer.KycStatus.REJECTED and queue() == [session.pk]

    # Withdrawn explicitly (not by another analyst), then the assignee decides.
    with pytest.raises(PermissionDenied):
        review_withdraw(review_id=override.pk, actor=analyst2)
    review_withdraw(review_id=override.pk, actor=supervisor2)
    override.refresh_from_db()
    assert (override.state, override.withdrawn_by) == ("withdrawn", supervisor2)
    assert AuditEvent.objects.filter(action="review.withdrawn", actor=supervisor2).exists()
    decision = review_propose(
        session_id=session.pk, outcome="decline", reason=reason("suspected-fraud"), note="x", actor=analyst2
    )
    assert decision.state == "effective" and queue() == []


def test_no_new_session_behind_the_assignees_back_or_while_a_proposal_waits(make_case, analyst, analyst2):
    session = make_case("declined")
    case_assign(session_id=session.pk, assignee=analyst2, actor=analyst2)
    with pytest.raises(ReviewError, match="assigned to arthur"):
        case_start_new_session(session_id=session.pk, actor=analyst)
    review_propose(session_id=session.pk, outcome="approve", reason=reason("other"), note="x", actor=analyst2)
    with pytest.raises(ReviewError, match="awaits a second person"):
        case_start_new_session(session_id=session.pk, actor=analyst2)
    assert VerificationSession.objects.filter(customer_id=session.customer_id).count() == 1


def test_after_a_rejection_the_assignee_decides_again(make_case, analyst, supervisor):
    session = make_case("declined")
    override = review_propose(
        session_id=session.pk, outcome="approve", reason=reason("other"), note="x", actor=analyst
    )
    review_reject(review_id=override.pk, actor=supervisor, note="Tampering is visible.")
    decision = review_propose(
        session_id=session.pk, outcome="decline", reason=reason("suspected-fraud"), note="y", actor=analyst
    )
    assert decision.state == "effective"


def test_the_proposer_may_withdraw_their_own(make_case, analyst):
    from kyc.services.reviews import review_withdraw

    session = make_case("declined")
    override = review_propose(
        session_id=session.pk, outcome="approve", reason=reason("other"), note="x", actor=analyst
    )
    assert review_withdraw(review_id=override.pk, actor=analyst).state == "withdrawn"
    with pytest.raises(ReviewError, match="no longer awaiting"):
        review_withdraw(review_id=override.pk, actor=analyst)


# --- the case page ----------------------------------------------------------------------------------
def test_the_case_page_shows_the_earlier_decline_and_who_must_approve_before_submitting(
    client, make_case, analyst
):
    declined = make_case("declined", reason_code=106)
    new = case_start_new_session(session_id=declined.pk, actor=analyst)
    VerificationSession.objects.filter(pk=new.pk).update(provider_session_id=str(uuid.uuid4()))
    new.refresh_from_db()
    decide(new, "approved")
    client.force_login(analyst)
    page = client.get(f"/admin/kyc/case/{new.pk}/change/").content.decode()
    assert 'id="earlier-results"' in page and "106 — Known fraud" in page and "open: no person" in page
    assert 'id="four-eyes-notice"' in page and "the customer was declined before" in page
    queue_page = client.get("/admin/kyc/case/").content.decode()
    assert "earlier decline open" in queue_page


def test_the_case_page_offers_no_decision_to_someone_else_and_withdraw_to_a_supervisor(
    client, make_case, analyst, analyst2, supervisor
):
    session = make_case("declined")
    review = review_propose(
        session_id=session.pk, outcome="approve", reason=reason("other"), note="x", actor=analyst
    )
    client.force_login(analyst2)
    page = client.get(f"/admin/kyc/case/{session.pk}/change/").content.decode()
    assert 'id="review-form"' not in page and 'id="withdraw-proposal"' not in page
    client.force_login(supervisor)
    page = client.get(f"/admin/kyc/case/{session.pk}/change/").content.decode()
    assert 'id="withdraw-proposal"' in page and 'id="take-over"' in page
    response = client.post(f"/admin/kyc/case/{session.pk}/do/withdraw/", {"review": review.pk})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.state == "withdrawn"


def test_four_eyes_rule_names_are_one_list():
    import config.settings as config_settings
    from kyc.reviews import policy

    assert config_settings._FOUR_EYES_RULES == policy.FOUR_EYES_RULES
