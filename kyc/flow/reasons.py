"""What the end user is told, in plain words, about why they must try again.

Only resubmission reasons are explained: they are about photos and documents, which the person
can fix. A decline is never explained to the end user (the provider's reasons may speak of
tampering or fraud: those are for staff), and an unknown code gets the general sentence.
"""

from django.utils.translation import gettext_lazy as _

from kyc import status as st
from providers import registry

GENERAL_RESUBMISSION = _("Some photos could not be used. Please try again.")


def resubmission_reason(provider: str, reason_code: str) -> str:
    """The provider's words for this resubmission reason (Provider.resubmission_message), or the
    general sentence when it has none."""
    return registry.resubmission_message(provider, reason_code) or str(GENERAL_RESUBMISSION)


def _latest_resubmission_decision(session):
    if session.status != st.RESUBMISSION_REQUESTED:
        return None
    # From session.decisions.all(), so that a list that prefetched the decisions (the API's
    # verifications) asks nothing more per row; the newest by provider time, as ORDER BY
    # decided_at DESC, received_at DESC would give on PostgreSQL (no time first).
    asked = [d for d in session.decisions.all() if d.status == st.RESUBMISSION_REQUESTED and d.applied]
    return max(
        asked,
        key=lambda d: (d.decided_at is None, d.decided_at or d.received_at, d.received_at),
        default=None,
    )


def latest_resubmission_reason(session) -> tuple[str, str] | None:
    """(reason code, plain words) for a session waiting for a new attempt; None otherwise."""
    if session.status != st.RESUBMISSION_REQUESTED:
        return None
    decision = _latest_resubmission_decision(session)
    code = decision.reason_code if decision else ""
    return code, resubmission_reason(session.provider, code)


def decision_reason_codes(decision) -> list[str]:
    """Every reason a decision gave, the deciding one first. A provider that gives several keeps
    them all in the decision's raw `reasons` list (ShareID: providers/shareid/normalize.py); for
    the others the deciding code is the only one."""
    listed = decision.raw.get("reasons") if isinstance(decision.raw, dict) else None
    codes = [decision.reason_code, *(listed if isinstance(listed, list) else ())]
    return list(dict.fromkeys(code for code in codes if isinstance(code, str) and code))


def resubmission_messages(session) -> list[str]:
    """What the end user must do differently, one sentence per reason of the latest resubmission
    request, in the provider's words (two reasons with the same words said once); the general
    sentence when the provider has words for none. Empty unless the session waits for a new
    attempt. A reason the provider has no end-user words for is left out: its
    resubmission_message says nothing for a decline's reasons, which are for staff."""
    if session.status != st.RESUBMISSION_REQUESTED:
        return []
    decision = _latest_resubmission_decision(session)
    codes = decision_reason_codes(decision) if decision else []
    words = (registry.resubmission_message(session.provider, code) for code in codes)
    return list(dict.fromkeys(text for text in words if text)) or [str(GENERAL_RESUBMISSION)]
