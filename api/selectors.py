"""Reads of the staff endpoints: the back-office's own queries (kyc.queue), so that the API's
queue is the same queue staff see in the admin."""

from django.db.models import QuerySet

from kyc import queue


def cases(queryset: QuerySet | None = None) -> QuerySet:
    return queue.cases_annotated(queryset).prefetch_related(
        "attempts",
        "decisions",
        "media",
        "reviews__reason",
        "reviews__proposed_by",
        "reviews__confirmed_by",
        "decisions__risk_flags",
        "customer__screening_results__session",
        "customer__screening_results__proposed_by",
        "customer__screening_results__resolved_by",
    )


def review_queue() -> QuerySet:
    """Cases waiting for a person (the review policy, overrides awaiting a second approver), oldest
    first by the time they entered the queue."""
    return queue.review_queue().prefetch_related("attempts", "decisions", "media")
