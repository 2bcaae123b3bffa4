"""Which sessions are in the review queue, stored on the session (`queued_at`).

The rule (review_needed_q) is the one place that says what needs a human: what the review policy
sends to review and no staff decision in effect settles, and every override waiting for a second
person; only a customer's latest session. Evaluating it for every session on every page would
scan the whole table at 200,000 sessions, so it is evaluated when something it depends on changes
(a provider decision, a new session, a review, the customer's country) for that customer's
sessions only, and the result stored: the queue is then an index scan. A change of the policy
settings needs `python manage.py refresh_review_queue`.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce

from kyc.models import Review, VerificationSession
from kyc.reviews import policy, risk


def _newer_session_of_same_customer():
    return VerificationSession.objects.filter(customer=OuterRef("customer")).filter(
        Q(created_at__gt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk"))
    )


def review_needed_q() -> Q:
    """The queue's rule as a filter on VerificationSession."""
    effective = Exists(Review.objects.filter(session=OuterRef("pk"), state=Review.State.EFFECTIVE))
    awaiting = Exists(Review.objects.filter(session=OuterRef("pk"), state=Review.State.AWAITING_CONFIRMATION))
    needs_review = policy.requires_review_q() | risk.held_q()  # risk: the hold-on-flags rule
    return ~Exists(_newer_session_of_same_customer()) & ((needs_review & ~effective) | awaiting)


def queue_refresh(sessions) -> int:
    """Store the rule's answer for these sessions (a queryset); returns how many changed. The SLA
    clock starts at the provider's result, so a new result restarts it."""
    needed = list(sessions.filter(review_needed_q()).values_list("pk", flat=True))
    since = Coalesce("decided_at", "status_changed_at", "created_at")
    changed = sessions.filter(pk__in=needed).exclude(queued_at=since).update(queued_at=since)
    changed += sessions.exclude(pk__in=needed).exclude(queued_at=None).update(queued_at=None)
    return changed


def customer_queue_refresh(*, customer_id: int) -> None:
    """After anything about one customer changed: kyc.services.customer_refresh_kyc_status and the
    review services call it, inside their transaction."""
    queue_refresh(VerificationSession.objects.filter(customer_id=customer_id))
