"""Four-eyes, in one place: a decision that needs a second person is proposed by one staff member
and confirmed or refused by another, who holds the supervisor permission and is not its proposer.
What waits for a second person is each service's to say: a staff decision overriding the
provider's, or an approval the policy names (kyc/services/reviews.py); a false positive on a
sanctions hit (kyc/services/screening.py)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

REVIEW_CASE = "kyc.review_case"
CONFIRM_OVERRIDE = "kyc.confirm_override"


def require_permission(actor, permission: str) -> None:
    """Services check the actor themselves: a direct POST or an API call meets the same rule."""
    if actor is None or not actor.is_active or not actor.has_perm(permission):
        raise PermissionDenied(f"{permission} is required")


def second_person_check(proposal, actor, refusal: Exception) -> None:
    """Raise `refusal` when `actor` proposed what they are asked to confirm or refuse (a Review, a
    ScreeningResult: anything with `proposed_by_id`). The caller has checked CONFIRM_OVERRIDE."""
    if proposal.proposed_by_id == actor.pk:
        raise refusal
