"""Sessions past the provider's lifetime (Veriff: 7 days), closed by reconciliation."""

from __future__ import annotations

from django.db import transaction

from kyc import status as st
from kyc.models import VerificationSession
from kyc.services.transitions import session_transition


@transaction.atomic
def session_close_past_lifetime(*, session_id: int) -> bool:
    """Close a session the provider no longer serves (Veriff: 7 days) and that brought no decision:
    expired if the user never started it, abandoned if they did (Veriff's own 9104 rule). Returns
    whether it closed; a decision that arrived meanwhile wins (the row lock orders the two)."""
    session = VerificationSession.objects.select_for_update().get(pk=session_id)
    if session.status not in st.OPEN:
        return False
    new = st.EXPIRED if session.status == st.CREATED and session.started_at is None else st.ABANDONED
    session_transition(session, new, actor_label="system:reconcile")
    return True
