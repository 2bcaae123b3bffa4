"""Final decisions by staff on top of the provider's (the business has the last say), four-eyes.

A decision that agrees with the provider's takes effect at once. One that differs (an override),
and an approval the four-eyes policy names (kyc.reviews.policy, KYC_FOUR_EYES_APPROVALS: a case
held by the policy, a provider `review`, a customer declined before), waits until a second staff
member with the supervisor permission confirms it; nobody confirms or rejects their own.

Assignment is a lock: only the case's assignee decides (deciding on an unassigned case takes it;
a supervisor takes a case over through kyc.services.assignment, audited). A proposal waiting for a
second person is never replaced by another decision: it is withdrawn (by its proposer or a
supervisor) or rejected (by a second person) first. Every decision is kept: a newer one
supersedes an older one, never edits it.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists
from django.utils import timezone

from kyc import status as st
from kyc.audit import audit_record
from kyc.models import Customer, Review, ReviewReason, VerificationSession
from kyc.reviews import policy
from kyc.reviews.queue_state import customer_queue_refresh
from kyc.services.customers import customer_refresh_kyc_status
from kyc.services.four_eyes import CONFIRM_OVERRIDE, REVIEW_CASE, require_permission, second_person_check


class ReviewError(Exception):
    """The decision cannot be taken as asked; the message says why, for the staff member."""


def _locked_session(session_id: int) -> VerificationSession:
    # Lock order everywhere: session, then review(s), then customer (kyc.services takes session
    # then customer), so the review services cannot deadlock with a provider decision. A proposal
    # takes the customer before its own session's reviews: nobody else locks those reviews without
    # holding the same session first.
    return (
        VerificationSession.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=session_id)
    )


def _supersede(
    session: VerificationSession, *, states: list[str], now, exclude: int | None = None
) -> list[int]:
    reviews = Review.objects.select_for_update().filter(session=session, state__in=states)
    if exclude is not None:
        reviews = reviews.exclude(pk=exclude)
    ids = list(reviews.values_list("pk", flat=True))
    if ids:
        Review.objects.filter(pk__in=ids).update(state=Review.State.SUPERSEDED, superseded_at=now)
    return ids


def check_case_holder(session: VerificationSession, actor, *, take: bool = True) -> None:
    """Only the case's assignee decides; an unassigned case is taken by the one deciding (`take`).
    kyc.services.case_actions holds starting a new session to the same rule."""
    latest = (
        VerificationSession.objects.filter(customer_id=session.customer_id)
        .order_by("-created_at", "-id")
        .values_list("assignee_id", flat=True)
        .first()
    )
    # The case is the customer's: its assignee is on their latest session (the queue's row).
    holders = {session.assignee_id, latest} - {None}
    others = holders - {actor.pk}
    if others:
        holder = get_user_model().objects.get(pk=min(others))
        raise ReviewError(
            f"This case is assigned to {holder.get_username()}: only they decide it. "
            "A supervisor can take it over."
        )
    if take and session.assignee_id is None:
        session.assignee = actor
        session.assigned_at = timezone.now()
        session.save(update_fields=["assignee", "assigned_at", "updated_at"])
        audit_record(
            action="case.assigned",
            actor=actor,
            customer_id=session.customer_id,
            session=session,
            object=session,
            before={"assignee_id": None},
            after={"assignee_id": actor.pk, "why": "decided"},
        )


def check_nothing_pending(session: VerificationSession) -> None:
    """Refuse while a proposal of the customer's case waits for a second person. Called with the
    session locked; takes the customer's row lock (the documented order: session, then customer):
    two proposals on two sessions of one customer at once would otherwise both see nothing waiting."""
    Customer.objects.select_for_update().filter(pk=session.customer_id).first()
    pending = (
        Review.objects.filter(customer_id=session.customer_id, state=Review.State.AWAITING_CONFIRMATION)
        .select_related("proposed_by")
        .first()
    )
    if pending is not None:
        raise ReviewError(
            f"{pending.proposed_by.get_username()}'s decision ({pending.get_outcome_display().lower()}) "
            "awaits a second person: it must be withdrawn (by its proposer or a supervisor) or "
            "rejected before another decision is recorded."
        )


def customer_has_earlier_decline(session: VerificationSession) -> bool:
    """A decline of this customer before a decision on `session`: an earlier session the provider
    declined, or a staff decline that took effect."""
    earlier = VerificationSession.objects.filter(
        customer_id=session.customer_id, status=st.DECLINED, created_at__lt=session.created_at
    )
    staff = Review.objects.filter(
        customer_id=session.customer_id, outcome=Review.Outcome.DECLINE, effective_at__isnull=False
    )
    # One query whichever is true (the case page's query count must not depend on the answer).
    return VerificationSession.objects.filter(pk=session.pk).filter(Exists(earlier) | Exists(staff)).exists()


def four_eyes_for(session: VerificationSession, outcome: str) -> list[str]:
    """Why a decision with this outcome on this case would wait for a second person: "override",
    and for an approval the four-eyes policy's rules it meets (empty: it takes effect at once).
    The case page shows it before the analyst submits; review_propose applies it."""
    reasons = ["override"] if policy.is_override(session.status, outcome) else []
    if outcome == policy.APPROVE:
        reasons += policy.four_eyes_approval(
            session_status=session.status,
            country=session.customer.country,
            earlier_decline=customer_has_earlier_decline(session),
        )
    return reasons


@transaction.atomic
def review_propose(*, session_id: int, outcome: str, reason: ReviewReason | int, note: str, actor) -> Review:
    """Record a staff decision. Effective at once when it agrees with the provider (or the provider
    left the case to us) and no four-eyes rule applies; otherwise it awaits a supervisor's
    confirmation."""
    require_permission(actor, REVIEW_CASE)
    # The session lock serializes two reviewers deciding at once, and a decision racing a new
    # provider decision (session_apply_update holds the same lock), so `is_override` is judged
    # against the provider decision that really stands.
    session = _locked_session(session_id)
    if outcome not in Review.Outcome.values:
        raise ReviewError("Choose approve, decline or request resubmission.")
    if session.status not in policy.REVIEWABLE_STATUSES:
        raise ReviewError(
            f"A final decision needs the provider's result; this session is {session.get_status_display()}."
        )
    reason = _reason(reason, outcome)
    note = (note or "").strip()
    if not note:
        raise ReviewError("Explain the decision in the note: it is required.")
    check_case_holder(session, actor)
    check_nothing_pending(session)
    decision = session.decisions.filter(applied=True).order_by("-decided_at", "-received_at", "-id").first()
    is_override = policy.is_override(session.status, outcome)
    four_eyes = [r for r in four_eyes_for(session, outcome) if r != "override"]
    waits = is_override or bool(four_eyes)
    now = timezone.now()
    review = Review.objects.create(
        session=session,
        customer=session.customer,
        provider_decision=decision,
        provider_status=session.status,
        outcome=outcome,
        reason=reason,
        note=note,
        is_override=is_override,
        four_eyes=four_eyes,
        state=Review.State.AWAITING_CONFIRMATION if waits else Review.State.EFFECTIVE,
        proposed_by=actor,
        proposed_at=now,
        effective_at=None if waits else now,
    )
    replaced = []
    if not waits:
        replaced = _supersede(session, states=[Review.State.EFFECTIVE], now=now, exclude=review.pk)
    audit_record(
        action="review.proposed",
        actor=actor,
        customer=session.customer,
        session=session,
        object=review,
        after={
            "outcome": outcome,
            "reason": reason.code,
            "provider_status": session.status,
            "is_override": is_override,
            "four_eyes": four_eyes,
            "state": review.state,
            "superseded_reviews": replaced,
        },
    )
    if review.state == Review.State.EFFECTIVE:
        customer_refresh_kyc_status(customer=session.customer, actor=actor)
    else:
        customer_queue_refresh(customer_id=session.customer_id)  # a proposal waiting joins the queue
    return review


def _reason(reason: ReviewReason | int, outcome: str) -> ReviewReason:
    if not isinstance(reason, ReviewReason):
        reason = ReviewReason.objects.filter(pk=reason).first()
    if reason is None or not reason.active:
        raise ReviewError("Choose a reason from the list: it is required.")
    if reason.outcome and reason.outcome != outcome:
        raise ReviewError(f"“{reason.label}” is not a reason to {outcome.replace('_', ' ')}.")
    return reason


def _awaiting(review_id: int, actor, verb: str) -> tuple[VerificationSession, Review]:
    require_permission(actor, CONFIRM_OVERRIDE)
    session_id = Review.objects.values_list("session_id", flat=True).get(pk=review_id)
    session = _locked_session(session_id)
    # Locked after its session: a confirm racing a reject (or a second confirm) sees the first's
    # result and refuses, instead of both succeeding.
    review = Review.objects.select_for_update().get(pk=review_id)
    second_person_check(review, actor, PermissionDenied(f"Four-eyes: nobody can {verb} their own decision."))
    if review.state != Review.State.AWAITING_CONFIRMATION:
        raise ReviewError(
            f"This decision is no longer awaiting confirmation (it is {review.get_state_display()})."
        )
    return session, review


@transaction.atomic
def review_confirm(*, review_id: int, actor, note: str = "") -> Review:
    """A second staff member with the supervisor permission confirms a waiting decision (an override,
    or an approval the four-eyes policy names): it takes effect. `note`: what they checked, kept with
    the decision (the back-office requires one)."""
    session, review = _awaiting(review_id, actor, "confirm")
    now = timezone.now()
    replaced = _supersede(session, states=[Review.State.EFFECTIVE], now=now)
    review.state = Review.State.EFFECTIVE
    review.confirmed_by = actor
    review.confirmed_at = now
    review.effective_at = now
    review.confirmation_note = (note or "").strip()
    review.save(update_fields=["state", "confirmed_by", "confirmed_at", "effective_at", "confirmation_note"])
    audit_record(
        action="review.confirmed",
        actor=actor,
        customer=session.customer,
        session=session,
        object=review,
        before={"state": Review.State.AWAITING_CONFIRMATION},
        after={"state": review.state, "outcome": review.outcome, "superseded_reviews": replaced},
    )
    customer_refresh_kyc_status(customer=session.customer, actor=actor)
    return review


@transaction.atomic
def review_reject(*, review_id: int, actor, note: str) -> Review:
    """A second person (supervisor) refuses a waiting decision; the provider's decision (or an
    earlier staff one) stands."""
    note = (note or "").strip()
    if not note:
        raise ReviewError("Say why the override is rejected: a note is required.")
    session, review = _awaiting(review_id, actor, "reject")
    review.state = Review.State.REJECTED
    review.rejected_by = actor
    review.rejected_at = timezone.now()
    review.rejection_note = note
    review.save(update_fields=["state", "rejected_by", "rejected_at", "rejection_note"])
    audit_record(
        action="review.rejected",
        actor=actor,
        customer=session.customer,
        session=session,
        object=review,
        before={"state": Review.State.AWAITING_CONFIRMATION},
        after={"state": review.state},
    )
    customer_queue_refresh(customer_id=session.customer_id)
    return review


@transaction.atomic
def review_withdraw(*, review_id: int, actor) -> Review:
    """Take back a proposal that waits for a second person: its proposer, or a supervisor. Only
    then may another decision be recorded on the case (review_propose refuses while one waits)."""
    require_permission(actor, REVIEW_CASE)
    session_id = Review.objects.values_list("session_id", flat=True).get(pk=review_id)
    session = _locked_session(session_id)
    review = Review.objects.select_for_update().get(pk=review_id)
    if review.proposed_by_id != actor.pk and not actor.has_perm(CONFIRM_OVERRIDE):
        raise PermissionDenied("Only the proposer or a supervisor can withdraw a decision.")
    if review.state != Review.State.AWAITING_CONFIRMATION:
        raise ReviewError(
            f"This decision is no longer awaiting confirmation (it is {review.get_state_display()})."
        )
    review.state = Review.State.WITHDRAWN
    review.withdrawn_by = actor
    review.withdrawn_at = timezone.now()
    review.save(update_fields=["state", "withdrawn_by", "withdrawn_at"])
    audit_record(
        action="review.withdrawn",
        actor=actor,
        customer=session.customer,
        session=session,
        object=review,
        before={"state": Review.State.AWAITING_CONFIRMATION},
        after={"state": review.state, "by_proposer": review.proposed_by_id == actor.pk},
    )
    customer_queue_refresh(customer_id=session.customer_id)
    return review


def reviews_supersede_for_new_decision(*, session: VerificationSession, actor_label: str) -> None:
    """A new provider decision was applied to the session: earlier staff decisions were about a
    result that no longer stands. Called by kyc.services inside its transaction, session locked."""
    now = timezone.now()
    replaced = _supersede(
        session, states=[Review.State.EFFECTIVE, Review.State.AWAITING_CONFIRMATION], now=now
    )
    if replaced:
        audit_record(
            action="review.superseded",
            actor_label=actor_label,
            customer_id=session.customer_id,
            session=session,
            object=session,
            after={"reviews": replaced, "why": "new provider decision"},
        )


@transaction.atomic
def review_reason_save(*, reason: ReviewReason, changed: list[str], actor) -> ReviewReason:
    """Add or change an entry of the reasons list (the admin form has set the fields)."""
    require_permission(actor, "kyc.change_reviewreason" if reason.pk else "kyc.add_reviewreason")
    created = reason.pk is None
    reason.save()
    audit_record(
        action="review_reason.created" if created else "review_reason.changed",
        actor=actor,
        object=reason,
        after={"code": reason.code, "fields": sorted(changed), "active": reason.active},
    )
    return reason
