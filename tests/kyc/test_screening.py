"""Screening results (issue 12, rule 6, and rule 5's person record): Veriff's watchlist-screening
webhook end to end through the sandbox on a real socket, the person record read after a decision,
and staff resolving hits (four-eyes for a false positive on a sanctions hit)."""

import pytest
import requests
from django.core.exceptions import PermissionDenied

from kyc.models import AuditEvent, ProviderDecision, RiskFlag, ScreeningResult
from kyc.services import customers, screening
from kyc.services import sessions as kyc_sessions
from tests.providers_config import with_options
from webhooks.models import InboundEvent


@pytest.fixture
def app(live_server, settings):
    settings.KYC_PUBLIC_URL = live_server.url
    with_options(settings, "veriff", api_url=f"{live_server.url}/sandbox/veriff/v1")
    return live_server.url


def start(app, *, last="Morgan", ref="SCR-1"):
    customer = customers.customer_create(
        external_ref=ref, first_name="Sarah", last_name=last, email="s@example.com", country="GB"
    )
    session = kyc_sessions.verification_start(customer=customer, actor_label="test")
    session.refresh_from_db()
    assert session.provider_session_id
    return customer, session


def control(app, session, what: str, **body):
    response = requests.post(
        f"{app}/sandbox/veriff/control/sessions/{session.provider_session_id}/{what}", json=body, timeout=30
    )
    return response


def refreshed(customer, session):
    customer.refresh_from_db()
    session.refresh_from_db()
    return customer.kyc_status, session.status, session.queued_at is not None


# --- end to end through the sandbox --------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_watchlist_possible_match_from_the_sandbox_is_stored_and_holds_the_customer(app):
    customer, session = start(app)
    assert control(app, session, "decision", status="approved").status_code == 200
    assert refreshed(customer, session) == ("verified", "approved", False)

    response = control(app, session, "watchlist", matchStatus="possible_match", lists=["sanctions", "pep"])
    assert response.status_code == 200, response.text
    assert response.json()["totalHits"] == 2

    event = InboundEvent.objects.get(kind="watchlist")
    assert event.authenticated and event.state == InboundEvent.State.PROCESSED
    hits = {h.list_type: h for h in ScreeningResult.objects.filter(customer=customer)}
    assert set(hits) == {"sanctions", "pep"}
    sanctions = hits["sanctions"]
    # Why it matched: the name, the date of birth, the list and its source.
    assert sanctions.matched_name == "Sarah Morgan"
    assert sanctions.date_of_birth
    assert sanctions.match_types == ["name_exact", "date_of_birth"]
    assert sanctions.sources[0]["name"] == "Sandbox Consolidated Sanctions List"
    assert sanctions.session_id == session.pk and sanctions.source == "veriff:watchlist"
    assert sanctions.state == ScreeningResult.State.POSSIBLE_MATCH
    assert refreshed(customer, session) == ("in_review", "approved", True)


@pytest.mark.django_db(transaction=True)
def test_a_watchlist_no_match_from_the_sandbox_stores_nothing_and_changes_nothing(app):
    customer, session = start(app, ref="SCR-2")
    control(app, session, "decision", status="approved")
    assert control(app, session, "watchlist", matchStatus="no_match", lists=[]).status_code == 200
    assert InboundEvent.objects.get(kind="watchlist").state == InboundEvent.State.PROCESSED
    assert not ScreeningResult.objects.exists()
    assert refreshed(customer, session) == ("verified", "approved", False)
    received = AuditEvent.objects.filter(action="customer.screening_received")
    assert received.filter(after__source="veriff:watchlist").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_sandbox_refuses_bad_watchlist_requests_clearly(app):
    _customer, session = start(app, ref="SCR-3")
    assert control(app, session, "watchlist").status_code == 409  # nothing submitted yet
    control(app, session, "decision", status="approved")
    for body, words in (
        ({"matchStatus": "maybe"}, "matchStatus"),
        ({"lists": ["interpol"]}, "lists"),
        ({"lists": []}, "lists"),
        ({"checkType": "weekly"}, "checkType"),
    ):
        response = control(app, session, "watchlist", **body)
        assert response.status_code == 400 and words in response.json()["message"]
    assert not InboundEvent.objects.filter(kind="watchlist").exists()


@pytest.mark.django_db(transaction=True)
def test_a_sandbox_approval_with_risk_labels_is_held(app):
    customer, session = start(app, ref="SCR-4")
    response = control(
        app,
        session,
        "decision",
        status="approved",
        riskLabels=["document_crosslinked_with_fraud"],
        matchedSessionId="d40edb60-6ae6-4475-be72-84b81669cce6",
    )
    assert response.status_code == 200
    assert refreshed(customer, session) == ("in_review", "approved", True)
    assert set(RiskFlag.objects.values_list("kind", flat=True)) == {"risk_label", "matched_session"}


@pytest.mark.django_db(transaction=True)
def test_a_sandbox_resubmission_without_attempt_id_asks_the_customer_to_resubmit(app):
    customer, session = start(app, ref="SCR-5")
    response = control(app, session, "decision", status="resubmission_requested", omitAttemptId=True)
    assert "attemptId" not in response.json()["verification"]
    assert refreshed(customer, session) == ("action_required", "resubmission_requested", True)
    assert ProviderDecision.objects.get(session=session).applied


@pytest.mark.django_db(transaction=True)
def test_the_person_record_read_after_a_decision_holds_a_pep_match(app):
    # The sandbox's fake list matches the last name "Pep" (providers/veriff/README.md).
    customer, session = start(app, last="Pep", ref="SCR-6")
    control(app, session, "decision", status="approved")
    hit = ScreeningResult.objects.get(customer=customer)
    assert (hit.source, hit.list_type, hit.matched_name) == ("veriff:person", "pep", "Sarah Pep")
    assert refreshed(customer, session) == ("in_review", "approved", True)


@pytest.mark.django_db(transaction=True)
def test_the_person_record_without_matches_adds_nothing(app):
    _customer, session = start(app, ref="SCR-7")
    control(app, session, "decision", status="approved")
    assert not ScreeningResult.objects.exists()
    received = AuditEvent.objects.filter(action="customer.screening_received")
    assert received.filter(after__source="veriff:person").count() == 1  # read once


# --- staff resolve hits -------------------------------------------------------------------
@pytest.fixture
def held(make_case):
    """An approved case whose customer has a sanctions and a PEP hit."""
    from providers.base import LIST_PEP, LIST_SANCTIONS, Screening, ScreeningHit

    session = make_case("approved", country="GB")
    hits = (
        ScreeningHit(list_type=LIST_SANCTIONS, matched_name="Sarah Morgan", date_of_birth="1967"),
        ScreeningHit(list_type=LIST_PEP, matched_name="Sara Morgan", date_of_birth="1967-03-30"),
    )
    screening.screening_record(
        session=session, screening=Screening(source="veriff:watchlist", possible_match=True, hits=hits)
    )
    results = {r.list_type: r for r in ScreeningResult.objects.filter(customer=session.customer)}
    return session, results["sanctions"], results["pep"]


def status(session):
    session.customer.refresh_from_db()
    return session.customer.kyc_status


def test_a_screening_hit_holds_an_approved_customer(held):
    session, _, _ = held
    assert status(session) == "in_review"


def test_a_sanctions_false_positive_needs_a_second_person(held, analyst, supervisor, supervisor2):
    session, sanctions, pep = held
    screening.screening_resolve(
        result_id=pep.pk, resolution="false_positive", reason="Other person.", actor=analyst
    )
    result = screening.screening_resolve(
        result_id=sanctions.pk, resolution="false_positive", reason="DOB differs.", actor=supervisor
    )
    assert result.state == ScreeningResult.State.AWAITING_CONFIRMATION
    assert status(session) == "in_review"
    with pytest.raises(screening.ScreeningError, match="Four-eyes"):
        screening.screening_confirm(result_id=sanctions.pk, actor=supervisor)
    with pytest.raises(PermissionDenied):
        screening.screening_confirm(result_id=sanctions.pk, actor=analyst)
    result = screening.screening_confirm(result_id=sanctions.pk, actor=supervisor2)
    assert result.state == ScreeningResult.State.FALSE_POSITIVE
    assert (result.proposed_by, result.resolved_by) == (supervisor, supervisor2)
    assert status(session) == "verified"


def test_a_pep_false_positive_takes_effect_at_once(held, analyst):
    session, _sanctions, pep = held
    result = screening.screening_resolve(
        result_id=pep.pk, resolution="false_positive", reason="Different person.", actor=analyst
    )
    assert result.state == ScreeningResult.State.FALSE_POSITIVE and result.resolved_by == analyst
    assert status(session) == "in_review"  # the sanctions hit still holds


def test_a_true_match_keeps_the_customer_held_until_a_staff_decision(held, analyst):
    session, sanctions, _ = held
    result = screening.screening_resolve(
        result_id=sanctions.pk, resolution="true_match", reason="Same person, same DOB.", actor=analyst
    )
    assert result.state == ScreeningResult.State.TRUE_MATCH
    assert status(session) == "in_review"
    session.refresh_from_db()
    assert session.queued_at is not None


def test_a_refused_false_positive_opens_the_hit_again(held, supervisor, supervisor2):
    _, sanctions, _ = held
    screening.screening_resolve(
        result_id=sanctions.pk, resolution="false_positive", reason="x", actor=supervisor
    )
    with pytest.raises(screening.ScreeningError, match="why"):
        screening.screening_reject(result_id=sanctions.pk, actor=supervisor2, note=" ")
    result = screening.screening_reject(result_id=sanctions.pk, actor=supervisor2, note="Same birth year.")
    assert result.state == ScreeningResult.State.POSSIBLE_MATCH
    assert "Same birth year." in result.resolution_reason


def test_bad_resolutions_are_refused_and_change_nothing(held, analyst, auditor):
    _, sanctions, pep = held
    with pytest.raises(screening.ScreeningError, match="reason"):
        screening.screening_resolve(result_id=pep.pk, resolution="true_match", reason="  ", actor=analyst)
    with pytest.raises(screening.ScreeningError, match="false positive or true match"):
        screening.screening_resolve(result_id=pep.pk, resolution="maybe", reason="x", actor=analyst)
    with pytest.raises(PermissionDenied):
        screening.screening_resolve(result_id=pep.pk, resolution="true_match", reason="x", actor=auditor)
    screening.screening_resolve(result_id=pep.pk, resolution="true_match", reason="x", actor=analyst)
    with pytest.raises(screening.ScreeningError, match="already resolved"):
        screening.screening_resolve(result_id=pep.pk, resolution="false_positive", reason="y", actor=analyst)
    sanctions.refresh_from_db()
    assert sanctions.state == ScreeningResult.State.POSSIBLE_MATCH


def test_the_same_hits_again_are_not_added_twice(held):
    from providers.base import LIST_SANCTIONS, Screening, ScreeningHit

    session, _, _ = held
    again = Screening(
        source="veriff:watchlist",
        possible_match=True,
        hits=(ScreeningHit(list_type=LIST_SANCTIONS, matched_name="sarah morgan ", date_of_birth="1967"),),
    )
    assert screening.screening_record(session=session, screening=again) == []
    assert ScreeningResult.objects.filter(customer=session.customer).count() == 2


def test_the_audit_trail_keeps_states_not_names(held, analyst):
    _, _, pep = held
    screening.screening_resolve(result_id=pep.pk, resolution="true_match", reason="x", actor=analyst)
    entries = AuditEvent.objects.filter(action__startswith="customer.screening")
    assert entries.count() == 2
    assert not any("Morgan" in str(e.before) + str(e.after) for e in entries)


def test_erasure_blanks_what_a_hit_says_of_the_person(held, analyst):
    from kyc.operations.erasure import customer_erase

    session, _, pep = held
    screening.screening_resolve(
        result_id=pep.pk, resolution="true_match", reason="Sarah Morgan, b. 1967", actor=analyst
    )
    report = customer_erase(customer_id=session.customer_id, actor_label="test")
    assert report.screening_results_redacted == 2
    for hit in ScreeningResult.objects.filter(customer=session.customer):
        assert "Morgan" not in f"{hit.matched_name}{hit.resolution_reason}{hit.raw}{hit.sources}"
        assert hit.date_of_birth == ""
    pep.refresh_from_db()
    assert (pep.state, pep.list_type, pep.resolved_by) == ("true_match", "pep", analyst)
    assert customer_erase(customer_id=session.customer_id, actor_label="test").screening_results_redacted == 0
    # A screening arriving afterwards keeps nothing.
    from providers.base import LIST_PEP, Screening, ScreeningHit

    late = Screening(
        source="veriff:watchlist",
        possible_match=True,
        hits=(ScreeningHit(list_type=LIST_PEP, matched_name="S M"),),
    )
    session.customer.refresh_from_db()
    session.refresh_from_db()
    assert screening.screening_record(session=session, screening=late) == []
