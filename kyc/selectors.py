"""Reads of the KYC domain used by more than one view."""

from __future__ import annotations

from django.utils import timezone

from kyc import status as st
from kyc.models import Customer, VerificationSession
from providers.registry import get_provider

RESUMABLE = (st.CREATED, st.STARTED, st.SUBMITTED, st.RESUBMISSION_REQUESTED)


def session_resumable_for(customer: Customer) -> VerificationSession | None:
    """The session a returning end user should continue (Veriff seed checklist: a disrupted session
    resumes; a resubmission goes back to the same URL; past the provider's lifetime, a new one)."""
    session = customer.sessions.order_by("-created_at", "-id").first()
    if session is None or session.status not in RESUMABLE or session.provider_error_permanent:
        return None
    lifetime = get_provider(session.provider).session_lifetime
    if session.created_at < timezone.now() - lifetime:
        return None
    return session
