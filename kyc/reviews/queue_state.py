"""Which sessions are in the review queue, stored on the session (`queued_at`).

The rule (review_needed_q) is the one place that says what needs a human: what the review policy
sends to review and no staff decision in effect settles, and every proposal waiting for a second
person. A case is the customer's while it is open: it is shown on their latest session, and a
decline or a provider `review` stays in it whatever the customer does next (a new session joins
the case) until a person's decision in effect on that session or a later one closes it; an
approval after a decline is looked at by a person too (kyc.reviews.policy, CASE_OPENING).

Evaluating it for every session on every page would scan the whole table at 200,000 sessions, so
it is evaluated when something it depends on changes (a provider decision, a new session, a
review, the customer's country) for that customer's sessions only, and the result stored: the
queue is then an index scan. A change of the policy settings needs
`python manage.py refresh_review_queue`.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from kyc import status as st
from kyc.models import Review, VerificationSession
from kyc.reviews import policy, risk


def _newer_session_of_same_customer():
    return VerificationSession.objects.filter(customer=OuterRef("customer")).filter(
        Q(created_at__gt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk"))
    )


def _older_sessions_of_same_customer():
    return VerificationSession.objects.filter(customer=OuterRef("customer")).filter(
        Q(created_at__lt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))
    )


def open_earlier_sessions():
    """Older sessions of the customer whose decline or `review` no person has closed: no staff
    decision in effect on them or on any session of the customer after them."""
    closed = Exists(
        Review.objects.filter(
            customer=OuterRef("customer"),
            state=Review.State.EFFECTIVE,
            session__created_at__gte=OuterRef("created_at"),
        )
    )
    return (
        _older_sessions_of_same_customer().filter(status__in=policy.case_opening_statuses()).filter(~closed)
    )


def open_case_q() -> Q:
    """A session held because of its customer's earlier results: an earlier decline or `review`
    still open, or (the session approved by the provider) any earlier decline, while no staff
    decision in effect on this session settles it."""
    held = Exists(open_earlier_sessions())
    if st.DECLINED in policy.rules():
        effective = Exists(Review.objects.filter(session=OuterRef("pk"), state=Review.State.EFFECTIVE))
        earlier_decline = Exists(_older_sessions_of_same_customer().filter(status=st.DECLINED))
        held |= Q(status=st.APPROVED) & earlier_decline & ~effective
    return held


def review_needed_q() -> Q:
    """The queue's rule as a filter on VerificationSession."""
    effective = Exists(Review.objects.filter(session=OuterRef("pk"), state=Review.State.EFFECTIVE))
    # Any proposal of the customer's case waiting for a second person, whichever session it is on.
    awaiting = Exists(
        Review.objects.filter(customer=OuterRef("customer"), state=Review.State.AWAITING_CONFIRMATION)
    )
    needs_review = policy.requires_review_q() | risk.held_q()  # risk: the hold-on-flags rule
    return ~Exists(_newer_session_of_same_customer()) & (
        (needs_review & ~effective) | awaiting | open_case_q()
    )


def session_held_by_open_case(session: VerificationSession) -> bool:
    """Whether the customer's earlier results hold this session for a person (open_case_q)."""
    return VerificationSession.objects.filter(pk=session.pk).filter(open_case_q()).exists()


def queue_refresh(sessions) -> int:
    """Store the rule's answer for these sessions (a queryset); returns how many changed. The SLA
    clock starts at the provider's result; a case kept open by an earlier result keeps that
    result's time, so a customer starting again does not restart the clock."""
    needed = list(sessions.filter(review_needed_q()).values_list("pk", flat=True))
    opened = open_earlier_sessions().order_by("created_at", "pk")
    since = Coalesce(
        Subquery(opened.values("decided_at")[:1]), "decided_at", "status_changed_at", "created_at"
    )
    changed = sessions.filter(pk__in=needed).exclude(queued_at=since).update(queued_at=since)
    changed += sessions.exclude(pk__in=needed).exclude(queued_at=None).update(queued_at=None)
    return changed


def customer_queue_refresh(*, customer_id: int) -> None:
    """After anything about one customer changed: kyc.services.customers.customer_refresh_kyc_status and the
    review services call it, inside their transaction."""
    queue_refresh(VerificationSession.objects.filter(customer_id=customer_id))
