"""The hold-on-flags rule of the review policy (KYC_REVIEW_POLICY "approved_flagged"): an approval
is held for a person when its session carries a risk flag of a kind in KYC_REVIEW_HOLD_ON_FLAGS, or
when its customer has a screening hit that is not settled as a false positive. In Python for the
customer's status (kyc.services) and as a filter for the queue (kyc.reviews.queue_state): one rule."""

from __future__ import annotations

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, Value

from kyc import status as st
from kyc.models import RiskFlag, ScreeningResult, VerificationSession
from kyc.reviews import policy

# A hit holds the customer until staff settle it as a false positive (a true match stays a reason
# to look: the staff decision on the session is what releases the customer then).
HOLDING_SCREENING_STATES = (
    ScreeningResult.State.POSSIBLE_MATCH,
    ScreeningResult.State.AWAITING_CONFIRMATION,
    ScreeningResult.State.TRUE_MATCH,
)


def held_q(prefix: str = "") -> Q:
    """Approved sessions the rule holds, as a filter on VerificationSession (`prefix` for a
    related lookup). Matches nothing when the rule is off."""
    kinds = policy.hold_flag_kinds()
    reasons = []
    if kinds:
        flagged = RiskFlag.objects.filter(session=OuterRef(f"{prefix}pk"), kind__in=sorted(kinds))
        reasons.append(Q(Exists(flagged)))
    if policy.holds_on_screening():
        hits = ScreeningResult.objects.filter(
            customer=OuterRef(f"{prefix}customer"), state__in=HOLDING_SCREENING_STATES
        )
        reasons.append(Q(Exists(hits)))
    if not reasons:
        return Q(pk__in=[])
    holds = reasons[0]
    for reason in reasons[1:]:
        holds |= reason
    return Q(**{f"{prefix}status": st.APPROVED}) & holds


def held_expression():
    """held_q as a value to annotate VerificationSession rows with (False when the rule is off)."""
    if not (policy.hold_flag_kinds() or policy.holds_on_screening()):
        return Value(False, output_field=BooleanField())
    return ExpressionWrapper(held_q(), output_field=BooleanField())


def session_is_held(session: VerificationSession) -> bool:
    """Whether the rule holds this (approved) session: one query."""
    if session.status != st.APPROVED or not (policy.hold_flag_kinds() or policy.holds_on_screening()):
        return False
    return VerificationSession.objects.filter(pk=session.pk).filter(held_q()).exists()
