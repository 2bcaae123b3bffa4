"""Risk flags on provider decisions (issue 12, rule 5), at the service: the normalizer keeps them
structured and kyc.services stores them; the review policy holds an approval that carries them."""

import json

import pytest

from kyc.models import RiskFlag
from kyc.reviews import risk
from kyc.services import updates
from providers.veriff import normalize
from tests.factories import SessionFactory
from tests.webhooks import veriff_fixtures as fx

pytestmark = pytest.mark.django_db


def apply(session, name: str, **changes):
    data = json.loads(fx.body(name, **changes))
    data["verification"]["id"] = session.provider_session_id
    update = normalize.decision_from_verification(data["verification"], data)
    return updates.session_apply_update(provider="veriff", update=update)


def test_the_normalizer_reads_risk_labels_matched_sessions_and_pep_matches():
    data = json.loads(
        fx.body("decision_9001_with_risk_labels", v_person={"pepSanctionMatch": "Possible match"})
    )
    flags = normalize.risk_flags(data["verification"])
    assert [(f.kind, f.code) for f in flags] == [
        ("risk_label", "document_crosslinked_with_fraud"),
        ("pep_sanctions", "Possible match"),
        ("matched_session", "matched_session"),
    ]
    assert "5a1e5b4f-5c8c-4a4e-9d0b-1c7a7f0e2b11" in flags[0].detail


@pytest.mark.parametrize("value", [None, "", "No match", "no_match", False, []])
def test_no_pep_sanction_match_is_no_flag(value):
    assert normalize.risk_flags({"person": {"pepSanctionMatch": value}}) == ()


def test_odd_risk_label_shapes_are_skipped_not_fatal():
    flags = normalize.risk_flags({"riskLabels": ["plain_label", {"category": "no label"}, 7, None]})
    assert [(f.kind, f.code) for f in flags] == [("risk_label", "plain_label")]
    assert normalize.risk_flags({"riskLabels": "not a list", "biometricAuthentication": "x"}) == ()


def test_an_approval_with_risk_labels_is_stored_with_its_flags_and_held(customer):
    session = SessionFactory(customer=customer, status="submitted")
    assert apply(session, "decision_9001_with_risk_labels") == updates.ApplyResult.APPLIED
    session.refresh_from_db()
    customer.refresh_from_db()
    assert session.status == "approved"
    assert customer.kyc_status == "in_review"
    assert session.queued_at is not None
    decision = session.decisions.get()
    assert sorted(decision.risk_flags.values_list("kind", flat=True)) == ["matched_session", "risk_label"]
    assert risk.session_is_held(session)


def test_a_clean_approval_is_not_held(customer):
    session = SessionFactory(customer=customer, status="submitted")
    apply(session, "decision_9001_with_risk_labels", v_riskLabels=None, v_biometricAuthentication=None)
    customer.refresh_from_db()
    assert customer.kyc_status == "verified"
    assert not RiskFlag.objects.exists()


def test_a_staff_approval_releases_a_held_customer(customer, settings):
    from kyc.services import reviews as decisions
    from tests.kyc.conftest import make_staff

    session = SessionFactory(customer=customer, status="submitted")
    apply(session, "decision_9001_with_risk_labels")
    analyst = make_staff("ana", "Analyst")
    reason = decisions.ReviewReason.objects.filter(outcome__in=["", "approve"]).first()
    decisions.review_propose(
        session_id=session.pk, outcome="approve", reason=reason, note="Checked the cross-link.", actor=analyst
    )
    customer.refresh_from_db()
    session.refresh_from_db()
    assert customer.kyc_status == "verified"
    assert session.queued_at is None
