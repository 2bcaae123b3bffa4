"""The normalized session status machine, in one place; kyc/services/transitions.py writes by it.

created → started → submitted → approved | declined | resubmission_requested | review | expired |
abandoned, and resubmission_requested → started for a new attempt. A provider decision can arrive
without the events before it (webhooks are not ordered), so the forward jumps are allowed.
Conclusive statuses never move again: a late or repeated event is a no-op.
"""

from providers.base import (
    ABANDONED,
    APPROVED,
    CREATED,
    DECLINED,
    EXPIRED,
    RESUBMISSION_REQUESTED,
    REVIEW,
    STARTED,
    SUBMITTED,
)

DECISIONS = frozenset({APPROVED, DECLINED, RESUBMISSION_REQUESTED, REVIEW, EXPIRED, ABANDONED})
# No provider event moves these. `review` is the provider handing the case to us (Veriff: "review"
# is ours to decide); the staff decision on top of it is a Review, not a status change.
CONCLUSIVE = frozenset({APPROVED, DECLINED, EXPIRED, ABANDONED, REVIEW})
# A new verification (new session) may be started for a customer whose last one ended so
# (Veriff: after 9102/9104 a retry needs a new session).
RESTARTABLE = frozenset({DECLINED, EXPIRED, ABANDONED})

TRANSITIONS: dict[str, frozenset[str]] = {
    CREATED: frozenset({STARTED, SUBMITTED}) | DECISIONS,
    STARTED: frozenset({SUBMITTED}) | DECISIONS,
    SUBMITTED: DECISIONS,
    # A new attempt starts on the same session URL (Veriff 9103).
    RESUBMISSION_REQUESTED: frozenset({STARTED, SUBMITTED}) | DECISIONS,
    APPROVED: frozenset(),
    DECLINED: frozenset(),
    EXPIRED: frozenset(),
    ABANDONED: frozenset(),
    REVIEW: frozenset(),
}

CHOICES = [
    (CREATED, "Created"),
    (STARTED, "Started"),
    (SUBMITTED, "Submitted"),
    (APPROVED, "Approved"),
    (DECLINED, "Declined"),
    (RESUBMISSION_REQUESTED, "Resubmission requested"),
    (REVIEW, "Review"),
    (EXPIRED, "Expired"),
    (ABANDONED, "Abandoned"),
]


OPEN = frozenset({CREATED, STARTED, SUBMITTED, RESUBMISSION_REQUESTED})


def can_transition(current: str, new: str) -> bool:
    return new in TRANSITIONS[current]


def can_correct(current: str, new: str) -> bool:
    """Whether a status set by a fact that arrived out of order may be put right once the facts
    received show what the provider's order was (kyc.services, `_status_from_facts`): only between
    open statuses. A conclusive status is never corrected, and nothing goes back to `created`."""
    return current != new and current in OPEN and new in OPEN - {CREATED}


def is_conclusive(status: str) -> bool:
    return status in CONCLUSIVE
