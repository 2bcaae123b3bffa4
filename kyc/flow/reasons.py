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


def latest_resubmission_reason(session) -> tuple[str, str] | None:
    """(reason code, plain words) for a session waiting for a new attempt; None otherwise."""
    if session.status != st.RESUBMISSION_REQUESTED:
        return None
    # From session.decisions.all(), so that a list that prefetched the decisions (the API's
    # verifications) asks nothing more per row; the newest by provider time, as ORDER BY
    # decided_at DESC, received_at DESC would give on PostgreSQL (no time first).
    asked = [d for d in session.decisions.all() if d.status == st.RESUBMISSION_REQUESTED and d.applied]
    decision = max(
        asked,
        key=lambda d: (d.decided_at is None, d.decided_at or d.received_at, d.received_at),
        default=None,
    )
    code = decision.reason_code if decision else ""
    return code, resubmission_reason(session.provider, code)
