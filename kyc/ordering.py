"""Ordering by provider time, not arrival (docs/architecture.md, "A verification, end to end"): what
a session's status is, given every fact the provider sent about it so far, whatever order they came in.
Read-only: kyc.services.updates.session_apply_update applies what this says."""

from __future__ import annotations

from kyc import status as st
from kyc.models import ProviderDecision, VerificationSession


def status_from_facts(session: VerificationSession) -> tuple[str | None, ProviderDecision | None]:
    """The session status the provider's facts received so far imply, ordered by provider time,
    with the decision it comes from (None, None: the facts cannot tell).

    Webhooks arrive in any order, and progress events carry no time. But the provider's own order
    constrains them: a conclusive decision ends the session; at most one attempt is ever open
    (a resubmission decision opens the next). So: the latest decision if conclusive; else, when every
    attempt heard of has its decision, the latest decision by provider time; else, when exactly one
    attempt has none, that attempt's progress (it is the current one). Two attempts without a
    decision means one's decision is still on its way: nothing can be said until it arrives.
    """
    decisions = sorted(
        (d for d in session.decisions.all() if d.status in st.DECISIONS),
        key=lambda d: (d.decided_at is not None, d.decided_at or d.received_at, d.received_at, d.pk),
    )
    attempts = list(session.attempts.all())
    if decisions and decisions[-1].status in st.CONCLUSIVE:
        return decisions[-1].status, decisions[-1]
    ended = [a for a in attempts if a.status in st.CONCLUSIVE]  # expired/abandoned by an event
    if ended:
        return ended[-1].status, None
    decided = {d.attempt_id for d in decisions} | {a.pk for a in attempts if a.status in st.DECISIONS}
    open_attempts = [a for a in attempts if a.pk not in decided and a.status in (st.STARTED, st.SUBMITTED)]
    if len(open_attempts) == 1:
        return open_attempts[0].status, None
    if not open_attempts and decisions:
        return decisions[-1].status, decisions[-1]
    return None, None
