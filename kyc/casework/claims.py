"""Claim the next case: the oldest case of the queue that nobody holds and that the staff member may
work, assigned to them in one step (the queue's "Claim next case", the case page's "save and go to
next")."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from kyc.models import Review, VerificationSession
from kyc.services.assignment import case_assign
from kyc.services.reviews import CONFIRM_OVERRIDE, REVIEW_CASE, require_permission


def claimable_q(actor) -> Q:
    """What `actor` may take: in the queue, unassigned, and not an override waiting for a second
    person that they cannot confirm (without the supervisor permission, or their own proposal:
    four-eyes)."""
    awaiting = Review.objects.filter(session=OuterRef("pk"), state=Review.State.AWAITING_CONFIRMATION)
    if actor.has_perm(CONFIRM_OVERRIDE):
        blocked = Exists(awaiting.filter(proposed_by=actor))
    else:
        blocked = Exists(awaiting)
    return Q(queued_at__isnull=False, assignee__isnull=True) & ~blocked


@transaction.atomic
def case_claim_next(*, actor, exclude: int | None = None) -> VerificationSession | None:
    """Assign the oldest claimable case to `actor` and return it; None when there is none.
    `exclude`: a case not to take again (the one just decided, while it may still be queued)."""
    require_permission(actor, REVIEW_CASE)
    candidates = VerificationSession.objects.filter(claimable_q(actor)).order_by("queued_at", "pk")
    if exclude is not None:
        candidates = candidates.exclude(pk=exclude)
    # The race: two analysts press "claim next" at once and both read the same oldest case; the
    # second would then take it from the first, or be refused. Locked with SKIP LOCKED, the second
    # skips the row the first holds and takes the next one (PostgreSQL; SQLite's BEGIN IMMEDIATE
    # already serializes the two transactions). The WHERE clause is checked again on the locked
    # row, so a case assigned meanwhile is not taken.
    session_id = (
        candidates.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True).first()
    )
    if session_id is None:
        return None
    return case_assign(session_id=session_id, assignee=actor, actor=actor)
