"""Reads of the staff endpoints."""

from django.db.models import QuerySet

from kyc import status as st
from kyc.models import VerificationSession

# The provider's outcomes that a person must look at (DESIGN.md, "Review").
NEEDS_REVIEW = (st.DECLINED, st.RESUBMISSION_REQUESTED, st.REVIEW)


def cases() -> QuerySet[VerificationSession]:
    return VerificationSession.objects.select_related("customer").prefetch_related(
        "attempts", "decisions", "media"
    )


def review_queue() -> QuerySet[VerificationSession]:
    """Cases waiting for a person, oldest decision first (the SLA clock)."""
    return cases().filter(status__in=NEEDS_REVIEW).order_by("decided_at", "created_at", "id")
