"""A provider's fact (an event, a decision, a screening) applied to its session, exactly once and
in the provider's order."""

from __future__ import annotations

import enum

from django.db import transaction

from kyc import status as st
from kyc import tasks
from kyc.audit import audit_record
from kyc.models import Attempt, ProviderDecision, RiskFlag, VerificationSession
from kyc.ordering import status_from_facts
from kyc.services.attempts import attempt_for
from kyc.services.media import media_store_inline
from kyc.services.reviews import reviews_supersede_for_new_decision
from kyc.services.screening import screening_record
from kyc.services.transitions import PROVIDER_ACTOR, session_transition
from providers.base import Decision, ProviderUpdate


class ApplyResult(enum.Enum):
    APPLIED = "applied"  # the status moved
    RECORDED = "recorded"  # kept (decision, attempt, inbound event) but the status did not move
    DUPLICATE = "duplicate"  # this exact fact was applied before
    UNKNOWN_SESSION = "unknown_session"  # we have no session with this provider id (yet)


def decision_reason_codes(decision: Decision) -> list[str]:
    """Every reason of a provider's decision as kept: its list, or its one code (Veriff, Solaris),
    with the deciding code first among them if the provider's list left it out."""
    codes = [str(code) for code in decision.reason_codes if str(code)]
    if decision.reason_code and decision.reason_code not in codes:
        codes.insert(0, decision.reason_code)
    return codes


def _is_stale(session: VerificationSession, attempt: Attempt | None, update: ProviderUpdate) -> bool:
    """Whether a late fact must not move the session (ordering by provider time, not arrival)."""
    if update.status is None or not st.can_transition(session.status, update.status):
        return True
    if attempt is not None:
        newer = session.attempts.filter(created_at__gt=attempt.created_at).exclude(pk=attempt.pk)
        if newer.exists():
            return True  # about an attempt the user has moved on from
        if update.decision is None and attempt.status in st.DECISIONS:
            return True  # a progress event arriving after its attempt's decision
    if update.decision and update.decision.decided_at and session.last_decision_time:
        return update.decision.decided_at < session.last_decision_time
    return False


def _attempt_should_move(attempt: Attempt, update: ProviderUpdate) -> bool:
    """An attempt records its own facts even when the session has moved on; but a progress event
    after the attempt's decision, or a decision older than one it has, does not move it."""
    if attempt.status == update.status:
        return False
    if update.decision is None:
        # Progress only goes forward: a 7001 arriving after its attempt's 7002 changes nothing.
        late_start = attempt.status == st.SUBMITTED and update.status == st.STARTED
        return attempt.status not in st.DECISIONS and not late_start
    decided_at = update.decision.decided_at
    return not (decided_at and attempt.decisions.filter(decided_at__gt=decided_at).exists())


# No savepoint inside a caller's transaction (the inbound event's, which commits its claim with
# this work): nothing catches a failure half-way and carries on, the whole transaction rolls
# back, so a savepoint would only cost two round trips per event (benchmarks/decision_latency.py).
@transaction.atomic(savepoint=False)
def session_apply_update(*, provider: str, update: ProviderUpdate) -> ApplyResult:
    """Apply one provider fact (event or decision) to its session, exactly once.

    The session row is locked for the whole application: two workers applying two facts of the
    same session (a duplicate delivery racing, a decision racing its 7002 event) are serialized,
    so the transition check and the write cannot interleave.
    """
    try:
        # The customer comes along (read, not locked: customer_refresh_kyc_status locks it later,
        # in the documented order session, then customer).
        session = (
            VerificationSession.objects.select_for_update(of=("self",))
            .select_related("customer")
            .get(provider=provider, provider_session_id=update.provider_session_id)
        )
    except VerificationSession.DoesNotExist:
        return ApplyResult.UNKNOWN_SESSION
    actor_label = PROVIDER_ACTOR.format(provider)

    if update.decision is not None and ProviderDecision.objects.filter(dedupe_key=update.dedupe_key).exists():
        return ApplyResult.DUPLICATE

    if update.screening is not None:  # PEP / sanctions hits on the session's person
        screening_record(session=session, screening=update.screening)
        return ApplyResult.RECORDED

    # An attempt first heard of through an intermediate decision (9151) has at least been submitted.
    first_status = update.status or (st.SUBMITTED if update.decision else None)
    attempt = attempt_for(
        session,
        update.attempt_id,
        first_status,
        for_decision=update.decision is not None,
        by_event=update.decision is None,
    )
    stale = _is_stale(session, attempt, update)

    if attempt is not None and update.status and _attempt_should_move(attempt, update):
        attempt.status = update.status
        attempt.save(update_fields=["status", "updated_at"])

    decision = None
    if update.decision is not None:
        d = update.decision
        decision = ProviderDecision.objects.create(
            session=session,
            attempt=attempt,
            dedupe_key=update.dedupe_key,
            status=d.status,
            provider_status=d.provider_status,
            code=d.code,
            reason=d.reason,
            reason_code=d.reason_code,
            reason_codes=decision_reason_codes(d),
            person=dict(d.person),
            document=dict(d.document),
            decided_at=d.decided_at,
            applied=False,
            raw=dict(update.raw),
        )
        if d.risk_flags:
            RiskFlag.objects.bulk_create(
                RiskFlag(decision=decision, session=session, kind=f.kind, code=f.code, detail=f.detail)
                for f in d.risk_flags
            )

    # What the facts received so far say, in the provider's order; when they cannot tell (two
    # attempts without a decision yet), the incremental rule on this one fact decides.
    target, latest = status_from_facts(session)
    if target is None:
        target, latest = (None, None) if stale else (update.status, decision)
    is_latest_decision = decision is not None and latest is not None and latest.pk == decision.pk
    moves = target is not None and (
        (target != session.status or is_latest_decision)
        and (st.can_transition(session.status, target) or st.can_correct(session.status, target))
    )
    applied = moves and is_latest_decision and target == decision.status

    if decision is not None:
        if applied:
            ProviderDecision.objects.filter(pk=decision.pk).update(applied=True)
        d = update.decision
        after = {"status": d.status, "code": d.code, "reason_code": d.reason_code, "applied": applied}
        if d.risk_flags:
            after["risk_flags"] = sorted({f.kind for f in d.risk_flags})
        audit_record(
            action="session.provider_decision",
            actor_label=actor_label,
            customer_id=session.customer_id,
            session=session,
            object=session,
            after=after,
        )
        if d.status in MEDIA_BEARING_STATUSES and not update.media:
            # Media that came with the decision (ShareID's images in the fetched result) are its
            # listing: stored below, with no listing asked of the provider again.
            _enqueue_media_sync(session.pk)
        if d.status in PERSON_SCREENED_STATUSES:
            _enqueue_person_screening(session)

    if not moves:
        _media_keep(session, update)
        return ApplyResult.RECORDED
    if update.decision is not None:
        reviews_supersede_for_new_decision(session=session, actor_label=actor_label)
    session_transition(
        session,
        target,
        actor_label=actor_label,
        decision_time=latest.decided_at if latest is not None and target == latest.status else None,
    )
    _media_keep(session, update)
    return ApplyResult.APPLIED


def _media_keep(session: VerificationSession, update: ProviderUpdate) -> None:
    """The media that came with the fact, stored once the decision is (after it, so that the
    session's listing is recorded as made after its decision: reconciliation asks for none), a
    late or stale fact's too: they are evidence whatever the status."""
    if update.media:
        media_store_inline(session_id=session.pk, items=update.media)


# Decisions after which the provider holds photos and videos of the attempt(s).
MEDIA_BEARING_STATUSES = frozenset(
    {st.APPROVED, st.DECLINED, st.RESUBMISSION_REQUESTED, st.REVIEW, st.ABANDONED}
)


# Decisions after which the provider has a person record worth screening (the user showed a
# document): its PEP / sanctions matches are read once, in a task after the decision's.
PERSON_SCREENED_STATUSES = frozenset({st.APPROVED, st.DECLINED, st.RESUBMISSION_REQUESTED, st.REVIEW})


def _enqueue_media_sync(session_id: int) -> None:
    transaction.on_commit(lambda: tasks.media_sync_soon(session_id))


def _enqueue_person_screening(session: VerificationSession) -> None:
    # The provider's ids travel with the task (ids, no personal data): the task asks the provider
    # before it touches the database.
    args = (session.pk, session.provider, session.provider_session_id)
    transaction.on_commit(lambda: tasks.session_screen_person.delay(*args))
