"""Reads of the KYC domain used by more than one view."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from kyc import status as st
from kyc.models import Customer, VerificationSession
from providers.registry import get_provider

# Past this many matching customers, the session search lets PostgreSQL join instead of listing
# their ids (a term as short as "a" matches most of them).
SEARCH_CUSTOMER_IDS_MAX = 2000

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


def session_search(search_term: str) -> Q:
    """Sessions matching every word of `search_term` in their reference or provider session id, or
    in their customer's external reference, last name or email (all parts of the text, any case).

    Written for the trigram indexes of migration kyc 0003: each condition is one indexed column,
    and the customers are found first, so that PostgreSQL can combine index scans instead of
    scanning every session joined to its customer.
    """
    condition = Q()
    for word in search_term.split():
        customers = Customer.objects.filter(
            Q(external_ref__icontains=word) | Q(last_name__icontains=word) | Q(email__icontains=word)
        ).values_list("pk", flat=True)
        ids = list(customers[: SEARCH_CUSTOMER_IDS_MAX + 1])
        by_customer = Q(customer_id__in=customers if len(ids) > SEARCH_CUSTOMER_IDS_MAX else ids)
        condition &= Q(reference__icontains=word) | Q(provider_session_id__icontains=word) | by_customer
    return condition
