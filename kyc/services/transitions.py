"""A session's status, written in one place: `session_transition` checks the transition table
(kyc/status.py) and records the change."""

from __future__ import annotations

from django.utils import timezone

from kyc import status as st
from kyc.audit import audit_record
from kyc.models import VerificationSession
from kyc.services.customers import customer_refresh_kyc_status

PROVIDER_ACTOR = "provider:{}"


_TIMESTAMP_FIELD = {st.STARTED: "started_at", st.SUBMITTED: "submitted_at"}


class TransitionRefused(Exception):
    """A status change the transition table (kyc/status.py) does not allow."""


def session_transition(
    session: VerificationSession,
    to_status: str,
    *,
    actor_label: str,
    actor=None,
    decision_time=None,
) -> None:
    """Move a session to `to_status`: the one place a session's status is written.

    Allowed are the moves of the transition table, and the corrections between open statuses that
    the facts received show were out of order (kyc/status.py, `can_correct`); anything else is
    refused, so that no caller can take a conclusive session back. The caller holds the session's
    row lock (select_for_update) and its transaction; the customer's derived status follows.
    """
    before = session.status
    if not (st.can_transition(before, to_status) or st.can_correct(before, to_status)):
        raise TransitionRefused(f"{before} → {to_status}")
    now = timezone.now()
    session.status = to_status
    session.status_changed_at = now
    fields = ["status", "status_changed_at", "updated_at"]
    if to_status in _TIMESTAMP_FIELD:
        setattr(session, _TIMESTAMP_FIELD[to_status], now)
        fields.append(_TIMESTAMP_FIELD[to_status])
    if to_status in st.DECISIONS:
        session.decided_at = now
        fields.append("decided_at")
    if decision_time:
        session.last_decision_time = decision_time
        fields.append("last_decision_time")
    session.save(update_fields=fields)
    audit_record(
        action="session.status_changed",
        actor=actor,
        actor_label=actor_label,
        customer_id=session.customer_id,
        session=session,
        object=session,
        before={"status": before},
        after={"status": to_status},
    )
    customer_refresh_kyc_status(customer=session.customer, actor=actor, actor_label=actor_label)
