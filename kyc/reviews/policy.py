"""Which cases a human must look at, and what the provider's decision means as an outcome.

Kept free of models so that kyc.services (status derivation) and the queue selectors share one
reading of the settings (config/settings.py, KYC_REVIEW_POLICY, KYC_HIGH_RISK_COUNTRIES,
KYC_FOUR_EYES_APPROVALS).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q

from kyc import status as st
from providers.capabilities import DeclineReasonKinds
from providers.registry import find_provider

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


# A provider result the customer cannot leave behind by starting again: it keeps their case open
# until a person closes it (kyc.reviews.queue_state), when the policy sends it to review at all.
CASE_OPENING = frozenset({st.DECLINED, st.REVIEW})


def case_opening_statuses() -> list[str]:
    return sorted(CASE_OPENING & rules())


# Why an approval needs a second person (KYC_FOUR_EYES_APPROVALS); an override always does.
HELD_BY_POLICY, PROVIDER_REVIEW, EARLIER_DECLINE = "held_by_policy", "provider_review", "earlier_decline"
FOUR_EYES_RULES = frozenset({HELD_BY_POLICY, PROVIDER_REVIEW, EARLIER_DECLINE})
FOUR_EYES_LABELS = {
    HELD_BY_POLICY: "the review policy holds this customer's approvals (high-risk country)",
    PROVIDER_REVIEW: "the provider left the case to us (review)",
    EARLIER_DECLINE: "the customer was declined before",
}


def four_eyes_approval(*, session_status: str, country: str, earlier_decline: bool) -> list[str]:
    """The rules of KYC_FOUR_EYES_APPROVALS that an approval of this case meets (empty: one person
    may approve). `earlier_decline`: the customer has a decline before this decision."""
    active = frozenset(settings.KYC_FOUR_EYES_APPROVALS)
    unknown = active - FOUR_EYES_RULES
    if unknown:
        raise ValueError(f"KYC_FOUR_EYES_APPROVALS: unknown rule(s) {sorted(unknown)}")
    met = {
        HELD_BY_POLICY: requires_review(st.APPROVED, country),
        PROVIDER_REVIEW: session_status == st.REVIEW,
        EARLIER_DECLINE: earlier_decline,
    }
    return [
        rule for rule in (HELD_BY_POLICY, PROVIDER_REVIEW, EARLIER_DECLINE) if rule in active and met[rule]
    ]


def decline_allows_restart(provider: str, reason_code: str) -> bool:
    """Whether a decline for this reason lets the customer start again by themselves
    (KYC_RESTART_ALLOWED_REASONS: a kind of reason the provider names, or "<provider>:<code>").
    No reason, or one the provider does not know, is the risky kind: a person looks first."""
    allowed = set(settings.KYC_RESTART_ALLOWED_REASONS)
    code = str(reason_code or "").strip()
    if not code:
        return False
    if f"{provider}:{code}" in allowed:
        return True
    kinds = find_provider(provider)
    if not isinstance(kinds, DeclineReasonKinds):
        return False  # the provider sorts no reasons: each is the risky kind until a person looks
    kind = kinds.decline_reason_kind(code)
    return bool(kind) and kind in allowed
