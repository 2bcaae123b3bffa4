"""Which cases a human must look at, and what the provider's decision means as an outcome.

Kept free of models so that kyc.services (status derivation) and the queue selectors share one
reading of the settings (config/settings.py, KYC_REVIEW_POLICY and KYC_HIGH_RISK_COUNTRIES).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q

from kyc import status as st

APPROVE, DECLINE, REQUEST_RESUBMISSION = "approve", "decline", "request_resubmission"

# The provider's decision read as a staff outcome; `review` has none: the provider left it to us.
PROVIDER_OUTCOME = {
    st.APPROVED: APPROVE,
    st.DECLINED: DECLINE,
    st.RESUBMISSION_REQUESTED: REQUEST_RESUBMISSION,
}
# A staff decision needs the provider's result and its evidence: never on a session still in
# progress, nor on one the user never finished (expired, abandoned: start a new session instead).
REVIEWABLE_STATUSES = frozenset({st.APPROVED, st.DECLINED, st.RESUBMISSION_REQUESTED, st.REVIEW})

PROVIDER_RULES = frozenset({st.DECLINED, st.RESUBMISSION_REQUESTED, st.REVIEW})
# approved_flagged: approvals carrying a risk flag of a kind in KYC_REVIEW_HOLD_ON_FLAGS, or of a
# customer with an open or confirmed screening hit (kyc.reviews.risk).
RULES = PROVIDER_RULES | {"approved", "approved_high_risk", "approved_flagged"}


def rules() -> frozenset[str]:
    configured = frozenset(settings.KYC_REVIEW_POLICY)
    unknown = configured - RULES
    if unknown:
        raise ValueError(f"KYC_REVIEW_POLICY: unknown rule(s) {sorted(unknown)}; known: {sorted(RULES)}")
    return configured


def hold_flag_kinds() -> frozenset[str]:
    """The risk flag kinds that hold an approval (empty when the approved_flagged rule is off)."""
    if "approved_flagged" not in rules():
        return frozenset()
    return frozenset(settings.KYC_REVIEW_HOLD_ON_FLAGS)


def holds_on_screening() -> bool:
    return "approved_flagged" in rules()


def is_high_risk(country: str) -> bool:
    return bool(country) and country.upper() in settings.KYC_HIGH_RISK_COUNTRIES


def requires_review(status: str, country: str) -> bool:
    """Whether a session ending so must be looked at by a person (the policy, in Python)."""
    active = rules()
    if status in PROVIDER_RULES:
        return status in active
    if status == st.APPROVED:
        return "approved" in active or ("approved_high_risk" in active and is_high_risk(country))
    return False


def requires_review_q(prefix: str = "") -> Q:
    """The same policy as a filter on VerificationSession (`prefix` for a related lookup)."""
    active = rules()
    q = Q(**{f"{prefix}status__in": sorted(active & PROVIDER_RULES)})
    if "approved" in active:
        q |= Q(**{f"{prefix}status": st.APPROVED})
    elif "approved_high_risk" in active:
        q |= Q(
            **{
                f"{prefix}status": st.APPROVED,
                f"{prefix}customer__country__in": settings.KYC_HIGH_RISK_COUNTRIES,
            }
        )
    return q


def is_override(session_status: str, outcome: str) -> bool:
    """A staff outcome that differs from what the provider decided (four-eyes needed)."""
    provider = PROVIDER_OUTCOME.get(session_status)
    return provider is not None and provider != outcome
