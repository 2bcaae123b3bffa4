"""Reads of the KYC domain used by more than one view."""

from __future__ import annotations

import re
import time

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from kyc import status as st
from kyc.models import AuditEvent, Customer, ProviderAccount, Review, VerificationSession
from kyc.reviews import policy
from providers.registry import get_provider, provider_names

# Past this many matching customers, the session search lets PostgreSQL join instead of listing
# their ids (a term as short as "a" matches most of them).
SEARCH_CUSTOMER_IDS_MAX = 2000


def provider_person_id_for(*, customer_id: int, provider: str) -> str:
    """The provider's id for this customer's person (kyc/services/accounts.py), "" when the
    provider has none (yet, or any longer)."""
    found = ProviderAccount.objects.filter(
        customer_id=customer_id, provider=provider, deleted_at__isnull=True
    ).values_list("provider_person_id", flat=True)
    return next(iter(found), "")


def session_person_id(*, customer_id: int, provider: str) -> str:
    """The person to hand the provider with a call about one of the customer's sessions
    (providers.base.Provider, `provider_person_id`): Solaris finds an identification only under
    its person. "" without a query for a provider that does not need it (Provider.
    sessions_under_person): a media download is not one more query per file for Veriff."""
    if not get_provider(provider).sessions_under_person:
        return ""
    return provider_person_id_for(customer_id=customer_id, provider=provider)


RESUMABLE = (st.CREATED, st.STARTED, st.SUBMITTED, st.RESUBMISSION_REQUESTED)


def session_resumable_for(customer: Customer) -> VerificationSession | None:
    """The session a returning end user should continue (Veriff: a disrupted session
    resumes; a resubmission goes back to the same URL; past the provider's lifetime, a new one)."""
    session = customer.sessions.order_by("-created_at", "-id").first()
    if session is None or session.status not in RESUMABLE or session.provider_error_permanent:
        return None
    lifetime = get_provider(session.provider).session_lifetime
    if session.created_at < timezone.now() - lifetime:
        return None
    return session


def session_is_stale(session: VerificationSession) -> bool:
    """Whether an unfinished session can no longer be continued: past the provider's lifetime, or
    replaced by a newer session of the same customer."""
    lifetime = get_provider(session.provider).session_lifetime
    if session.created_at < timezone.now() - lifetime:
        return True
    return session.customer.sessions.filter(created_at__gt=session.created_at).exists()


# Why a customer may not start a new verification (kyc.services.sessions.verification_start_or_resume).
ALREADY_VERIFIED = "already_verified"
IN_REVIEW = "in_review"
DECLINED = "declined"


def verification_restart_refusal(customer: Customer) -> str | None:
    """Whether policy lets this customer start a new session now; None when it does, else why not.

    After `expired` or `abandoned` a new session is always allowed (Veriff: the old one
    cannot be continued). After a decline only when KYC_RESTART_AFTER_DECLINE is on (the business
    may want a person to look first), and only while every decline of theirs that no person has
    closed yet was for a reason KYC_RESTART_ALLOWED_REASONS lets the customer put right (a fraud
    decline stays with staff: starting again must not walk around it). A decline by staff is a
    person's final word: staff start a new session from the case page if they want one. A verified
    customer, or one whose case is being reviewed, has nothing to start.
    """
    if customer.kyc_status == Customer.KycStatus.VERIFIED:
        return ALREADY_VERIFIED
    if customer.kyc_status == Customer.KycStatus.IN_REVIEW:
        return IN_REVIEW
    if customer.kyc_status == Customer.KycStatus.REJECTED and not settings.KYC_RESTART_AFTER_DECLINE:
        return DECLINED
    latest = customer.sessions.order_by("-created_at", "-id").first()
    effective = Review.objects.filter(customer=customer, state=Review.State.EFFECTIVE)
    if latest is not None and effective.filter(session=latest, outcome=Review.Outcome.DECLINE).exists():
        return DECLINED
    for session in customer.sessions.filter(status=st.DECLINED).prefetch_related("decisions"):
        if effective.filter(session__created_at__gte=session.created_at).exists():
            continue  # a person closed this decline (on it, or on a later session)
        decision = max(
            (d for d in session.decisions.all() if d.applied and d.status == st.DECLINED),
            key=lambda d: (d.decided_at is not None, d.decided_at or d.received_at, d.pk),
            default=None,
        )
        if not policy.decline_allows_restart(session.provider, decision.reason_code if decision else ""):
            return DECLINED
    return None


def customer_kyc_status_history(customer: Customer) -> list[dict]:
    """Every change of the customer's effective status, newest first, from the audit trail."""
    events = AuditEvent.objects.filter(customer=customer, action="customer.kyc_status_changed").order_by(
        "-created_at", "-id"
    )
    return [
        {
            "kyc_status": event.after.get("kyc_status"),
            "previous_kyc_status": event.before.get("kyc_status"),
            "changed_at": event.created_at,
        }
        for event in events
    ]


def session_wait_until_ready(session: VerificationSession, *, timeout: float) -> VerificationSession:
    """The session once the provider has created it (or refused, or `timeout` seconds passed).

    With a broker the provider session is created by a worker a moment after the start commits;
    a caller that must hand out the provider's URL at once waits a little instead of polling.
    """
    deadline = time.monotonic() + timeout
    while True:
        session.refresh_from_db()
        if session.hosted_url or session.provider_error or time.monotonic() >= deadline:
            return session
        time.sleep(0.1)


# A whole UUID, as session references and Veriff's session ids are written.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def is_whole_identifier(word: str) -> bool:
    """Whether a search word is a whole identifier (a UUID), looked up whole rather than as a part
    of names and emails: no name, email or document number is a UUID."""
    return bool(_UUID.fullmatch(word))


def session_search(search_term: str) -> Q:
    """Sessions matching every word of `search_term` in their reference or provider session id, or
    in their customer's external reference, first or last name or email (all parts of the text, any
    case).

    Written for the trigram indexes of migration kyc 0003: each condition is one indexed column,
    and the customers are found first, so that PostgreSQL can combine index scans instead of
    scanning every session joined to its customer. A word that is a whole UUID is looked up whole
    in the identifiers (session reference, provider session id, customer's external reference)
    through their unique B-tree indexes: a UUID's 34 trigrams, looked up in four trigram indexes
    of the customers for names and emails it cannot be part of, cost more than the rest of the
    review queue's page (benchmarks/backoffice.py).
    """
    condition = Q()
    for word in search_term.split():
        if is_whole_identifier(word):
            condition &= _identifier_search(word)
            continue
        customers = Customer.objects.filter(
            Q(external_ref__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
        ).values_list("pk", flat=True)
        ids = list(customers[: SEARCH_CUSTOMER_IDS_MAX + 1])
        by_customer = Q(customer_id__in=customers if len(ids) > SEARCH_CUSTOMER_IDS_MAX else ids)
        condition &= Q(reference__icontains=word) | Q(provider_session_id__icontains=word) | by_customer
    return condition


def _identifier_search(word: str) -> Q:
    # As typed, and in either case (icontains found them in any case; UUIDs are written in one).
    spellings = sorted({word, word.lower(), word.upper()})
    customers = list(Customer.objects.filter(external_ref__in=spellings).values_list("pk", flat=True))
    # With the provider, the unique (provider, provider_session_id) index serves the lookup.
    by_provider_id = Q(provider__in=provider_names(), provider_session_id__in=spellings)
    return Q(reference=word) | by_provider_id | Q(customer_id__in=customers)
