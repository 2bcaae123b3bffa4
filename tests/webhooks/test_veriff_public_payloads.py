"""Veriff payloads as public fixtures write them, through the real view and kyc.services (issue 12,
rules 4 and 5): a resubmission decision without `attemptId`, approvals carrying risk signals."""

import pytest

from kyc.models import ProviderDecision, RiskFlag, VerificationSession
from tests.factories import SessionFactory
from tests.providers_config import veriff_options
from tests.webhooks import veriff_fixtures as fx

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("veriff_without_media")]


@pytest.fixture
def session(db):
    return SessionFactory(provider_session_id=fx.SESSION_ID, status="created")


def status_of(session: VerificationSession) -> tuple[str, str]:
    session.refresh_from_db()
    return session.status, session.customer.kyc_status


# --- rule 4: a decision without attemptId applies to the attempt it decided --------------------
def test_9103_without_attempt_id_after_7001_with_one_asks_for_resubmission(client, settings, session):
    assert fx.post(client, settings, "event", fx.body("event_7001_started")).status_code == 200
    assert (
        fx.post(client, settings, "decision", fx.body("decision_9103_without_attempt_id")).status_code == 200
    )
    assert status_of(session) == ("resubmission_requested", "action_required")
    decision = ProviderDecision.objects.get(session=session)
    assert decision.applied
    assert decision.attempt.provider_attempt_id == fx.ATTEMPT_ID
    session.refresh_from_db()
    assert session.queued_at is not None  # resubmission_requested is in the default review policy


def test_9103_without_attempt_id_before_the_7001_it_decided_still_asks_for_resubmission(
    client, settings, session
):
    assert (
        fx.post(client, settings, "decision", fx.body("decision_9103_without_attempt_id")).status_code == 200
    )
    assert status_of(session) == ("resubmission_requested", "action_required")
    # The late 7001 is of the attempt that was decided: it does not reopen the session.
    assert fx.post(client, settings, "event", fx.body("event_7001_started")).status_code == 200
    assert status_of(session) == ("resubmission_requested", "action_required")
    decision = ProviderDecision.objects.get(session=session)
    assert decision.attempt.provider_attempt_id == fx.ATTEMPT_ID
    assert decision.attempt.status == "resubmission_requested"


def test_a_late_9103_without_attempt_id_decides_the_submitted_attempt_not_the_next_one(
    client, settings, session
):
    """Veriff holds a 9103 webhook a few minutes while the user resubmits in the flow: by then the
    next attempt has started. The decision is about the submitted one."""
    fx.post(client, settings, "event", fx.body("event_7001_started"))
    fx.post(client, settings, "event", fx.body("event_7001_started", code=7002, action="submitted"))
    fx.post(client, settings, "event", fx.body("event_7001_started", attemptId="a2-next-attempt"))
    fx.post(client, settings, "decision", fx.body("decision_9103_without_attempt_id"))
    decision = ProviderDecision.objects.get(session=session)
    assert decision.attempt.provider_attempt_id == fx.ATTEMPT_ID
    assert status_of(session)[0] == "started"  # the user is on the next attempt


# --- rule 5: an approval with risk signals is held -------------------------------------------
def test_an_approval_with_risk_labels_and_a_matched_session_is_held_for_review(client, settings, session):
    fx.post(client, settings, "decision", fx.body("decision_9001_with_risk_labels"))
    assert status_of(session) == ("approved", "in_review")
    session.refresh_from_db()
    assert session.queued_at is not None
    flags = {(f.kind, f.code) for f in RiskFlag.objects.filter(session=session)}
    assert flags == {
        ("risk_label", "document_crosslinked_with_fraud"),
        ("matched_session", "matched_session"),
    }
    matched = RiskFlag.objects.get(session=session, kind="matched_session")
    assert matched.detail == "d40edb60-6ae6-4475-be72-84b81669cce6"


def test_an_approval_with_a_pep_sanction_match_on_the_person_is_held(client, settings, session):
    fx.post(client, settings, "decision", fx.body("decision_9001_pep_sanction_match"))
    assert status_of(session) == ("approved", "in_review")
    assert RiskFlag.objects.get(session=session).kind == "pep_sanctions"


def test_an_approval_without_risk_signals_verifies_the_customer(client, settings, session):
    fx.post(
        client,
        settings,
        "decision",
        fx.body("decision_9001_with_risk_labels", v_riskLabels=[], v_biometricAuthentication=None),
    )
    assert status_of(session) == ("approved", "verified")
    assert not RiskFlag.objects.exists()


def test_the_hold_follows_the_configured_flag_kinds(client, settings, session):
    settings.KYC_REVIEW_HOLD_ON_FLAGS = ["pep_sanctions"]
    fx.post(client, settings, "decision", fx.body("decision_9001_with_risk_labels"))
    # Stored and shown, but these kinds hold nothing under this policy.
    assert status_of(session) == ("approved", "verified")
    assert RiskFlag.objects.filter(session=session).count() == 2


def test_the_hold_is_off_without_the_approved_flagged_rule(client, settings, session):
    settings.KYC_REVIEW_POLICY = ["declined", "resubmission_requested", "review"]
    fx.post(client, settings, "decision", fx.body("decision_9001_with_risk_labels"))
    assert status_of(session) == ("approved", "verified")


# --- rule 6: the watchlist-screening webhook ----------------------------------------------------
def test_the_watchlist_webhook_is_stored_and_its_hits_kept_on_the_customer(client, settings, session):
    from kyc.models import ScreeningResult
    from webhooks.models import InboundEvent

    response = fx.post(client, settings, "watchlist", fx.body("watchlist_possible_match"))
    assert response.status_code == 200
    assert InboundEvent.objects.get(kind="watchlist").state == InboundEvent.State.PROCESSED
    hits = {h.list_type: h for h in ScreeningResult.objects.filter(customer=session.customer)}
    assert set(hits) == {"sanctions", "pep"}
    assert hits["pep"].date_of_birth == "1967-03-30"
    assert hits["pep"].sources == [
        {
            "list": "pep",
            "name": "Example PEP Register",
            "url": "https://pep.example.org",
            "date": "2018-01-01",
        }
    ]
    assert hits["sanctions"].search_term == {"name": "Sarah Morgan", "year": "1967"}
    # The same delivery again is a duplicate; no_match afterwards adds nothing and clears nothing.
    fx.post(client, settings, "watchlist", fx.body("watchlist_possible_match"))
    fx.post(client, settings, "watchlist", fx.body("watchlist_no_match"))
    assert ScreeningResult.objects.count() == 2


@pytest.mark.parametrize(
    "changes",
    [{"matchStatus": 7}, {"matchStatus": None}, {"sessionId": None}, {"hits": "none"}],
)
def test_a_malformed_watchlist_delivery_is_kept_and_answered_400(client, settings, session, changes):
    from kyc.models import ScreeningResult
    from webhooks.models import InboundEvent

    response = fx.post(client, settings, "watchlist", fx.body("watchlist_possible_match", **changes))
    assert response.status_code == 400
    assert InboundEvent.objects.get(kind="watchlist").state == InboundEvent.State.MALFORMED
    assert not ScreeningResult.objects.exists()


def test_a_forged_watchlist_delivery_is_rejected(client, settings, session):
    from webhooks.models import InboundEvent

    response = client.post(
        "/webhooks/veriff/watchlist/",
        data=fx.body("watchlist_possible_match"),
        content_type="application/json",
        headers={"X-AUTH-CLIENT": veriff_options(settings).api_key, "X-HMAC-SIGNATURE": "0" * 64},
    )
    assert response.status_code == 401
    assert InboundEvent.objects.get(kind="watchlist").state == InboundEvent.State.REJECTED


def test_an_unknown_match_status_is_looked_at_not_taken_as_clear(client, settings, session):
    from kyc.models import ScreeningResult

    fx.post(client, settings, "watchlist", fx.body("watchlist_possible_match", matchStatus="potential_match"))
    assert ScreeningResult.objects.filter(customer=session.customer).count() == 2


def test_lists_named_only_in_lists_matched_are_understood():
    from providers.veriff import normalize

    hit = normalize.watchlist_hit(
        {"matchedName": "X", "listsMatched": ["OFAC SDN sanctions"], "matchTypes": []}
    )
    assert hit.list_type == "sanctions"
    assert normalize.watchlist_hit({"matchedName": "Y", "matchTypes": ["pep-class-1"]}).list_type == "pep"
    assert normalize.watchlist_hit({"matchedName": "Z"}).list_type == "other"
