"""Screening results (PEP / sanctions / adverse media) on a customer: recorded from a provider's
screening (Veriff's watchlist webhook, its person record after a decision), resolved by staff.

A hit holds the customer for review (kyc.reviews.risk) until staff settle it. "True match" is one
person's call; "false positive" clears a hit, so on a sanctions hit it takes effect only when a
second person with the supervisor permission confirms it (four-eyes, as an override of the
provider's decision: kyc.services.reviews). Every step is audited, with ids and states only.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from kyc.audit import audit_record
from kyc.models import ScreeningResult, VerificationSession
from kyc.services.customers import customer_refresh_kyc_status
from kyc.services.four_eyes import CONFIRM_OVERRIDE, REVIEW_CASE, require_permission, second_person_check
from kyc.services.transitions import PROVIDER_ACTOR
from providers.base import Screening
from providers.capabilities import ScreeningLookup
from providers.registry import get_provider

logger = logging.getLogger(__name__)

FALSE_POSITIVE, TRUE_MATCH = "false_positive", "true_match"


class ScreeningError(Exception):
    """The resolution cannot be taken as asked; the message says why, for the staff member."""


def _hit_key(list_type: str, matched_name: str, date_of_birth: str) -> tuple[str, str, str]:
    return list_type, matched_name.strip().casefold(), date_of_birth


def screening_record(*, session: VerificationSession, screening: Screening) -> list[ScreeningResult]:
    """Keep a screening's hits on the session's customer; returns the new rows. Call under the
    session's row lock (session_apply_update, session_screen_person): two deliveries of the same
    hits then add them once. A hit the customer has already from this source (same list, name and
    date of birth) is not added again, whatever it was resolved as: a provider repeating what we
    know (the person record read after each decision) is not a new hit."""
    customer = session.customer
    if customer.erased_at is not None:
        return []  # a late screening of an erased customer: nothing personal is kept
    known = {
        _hit_key(*row)
        for row in ScreeningResult.objects.filter(customer=customer, source=screening.source).values_list(
            "list_type", "matched_name", "date_of_birth"
        )
    }
    new = []
    for hit in screening.hits if screening.possible_match else ():
        key = _hit_key(hit.list_type, hit.matched_name, hit.date_of_birth)
        if key in known:
            continue
        known.add(key)
        new.append(
            ScreeningResult(
                customer=customer,
                session=session,
                provider=session.provider,
                source=screening.source,
                check_type=screening.check_type,
                list_type=hit.list_type,
                matched_name=hit.matched_name,
                date_of_birth=hit.date_of_birth,
                countries=list(hit.countries),
                match_types=list(hit.match_types),
                sources=[dict(s) for s in hit.sources],
                search_term=dict(screening.search_term),
                raw=dict(hit.raw),
            )
        )
    if new:
        ScreeningResult.objects.bulk_create(new)
    audit_record(
        action="customer.screening_received",
        actor_label=PROVIDER_ACTOR.format(session.provider),
        customer_id=customer.pk,
        session=session,
        object=session,
        after={
            "source": screening.source,
            "possible_match": screening.possible_match,
            "hits": len(screening.hits),
            "new_hits": len(new),
            "lists": sorted({r.list_type for r in new}),
        },
    )
    if new:
        customer_refresh_kyc_status(customer=customer, actor_label=PROVIDER_ACTOR.format(session.provider))
    return new


def session_screen_person(
    *, session_id: int, provider: str | None = None, provider_session_id: str | None = None
) -> int:
    """After a decision: read the provider's person record once and keep its PEP / sanctions
    matches as screening results. Returns how many new hits. Raises ProviderError (to retry)."""
    if not (provider and provider_session_id):
        provider, provider_session_id = VerificationSession.objects.values_list(
            "provider", "provider_session_id"
        ).get(pk=session_id)
    lookup = get_provider(provider)
    if not isinstance(lookup, ScreeningLookup):
        return 0  # the provider has no person look-up: nothing to read
    screening = lookup.fetch_person_screening(provider_session_id)
    if screening is None:
        return 0
    with transaction.atomic():
        session = VerificationSession.objects.select_for_update(of=("self",)).select_related("customer")
        session = session.get(pk=session_id)
        if session.customer.erased_at is not None:
            return 0  # nothing personal is kept of an erased customer
        return len(screening_record(session=session, screening=screening))


def _locked_result(result_id: int) -> ScreeningResult:
    # Lock order: session, then customer (kyc.services); a result has its own row, taken first
    # here and nowhere else under another lock, so that two staff resolving it are serialized.
    results = ScreeningResult.objects.select_for_update(of=("self",)).select_related("customer")
    return results.get(pk=result_id)


@transaction.atomic
def screening_resolve(*, result_id: int, resolution: str, reason: str, actor) -> ScreeningResult:
    """Staff settle a hit: "true_match" at once; "false_positive" at once, except on a sanctions
    hit, where it awaits a second person's confirmation."""
    require_permission(actor, REVIEW_CASE)
    if resolution not in (FALSE_POSITIVE, TRUE_MATCH):
        raise ScreeningError("Choose false positive or true match.")
    reason = (reason or "").strip()
    if not reason:
        raise ScreeningError("Say why: a reason is required.")
    result = _locked_result(result_id)
    if result.state in (ScreeningResult.State.FALSE_POSITIVE, ScreeningResult.State.TRUE_MATCH):
        raise ScreeningError(f"This hit is already resolved as {result.get_state_display().lower()}.")
    if result.state == ScreeningResult.State.AWAITING_CONFIRMATION:
        raise ScreeningError("A false positive is awaiting a second person's confirmation.")
    before = result.state
    now = timezone.now()
    result.resolution_reason = reason[:5000]
    result.proposed_by, result.proposed_at = actor, now
    if resolution == FALSE_POSITIVE and result.needs_four_eyes:
        result.state = ScreeningResult.State.AWAITING_CONFIRMATION
    else:
        result.state = resolution
        result.resolved_by, result.resolved_at = actor, now
    result.save()
    _audit(result, "customer.screening_resolved", actor, before)
    customer_refresh_kyc_status(customer=result.customer, actor=actor)
    return result


@transaction.atomic
def screening_confirm(*, result_id: int, actor) -> ScreeningResult:
    """The second person confirms a false positive on a sanctions hit."""
    require_permission(actor, CONFIRM_OVERRIDE)
    result = _locked_result(result_id)
    if result.state != ScreeningResult.State.AWAITING_CONFIRMATION:
        raise ScreeningError("This hit has no false positive awaiting confirmation.")
    second_person_check(
        result, actor, ScreeningError("Four-eyes: someone else must confirm your false positive.")
    )
    before = result.state
    result.state = ScreeningResult.State.FALSE_POSITIVE
    result.resolved_by, result.resolved_at = actor, timezone.now()
    result.save(update_fields=["state", "resolved_by", "resolved_at"])
    _audit(result, "customer.screening_confirmed", actor, before)
    customer_refresh_kyc_status(customer=result.customer, actor=actor)
    return result


@transaction.atomic
def screening_reject(*, result_id: int, actor, note: str) -> ScreeningResult:
    """The second person refuses a proposed false positive: the hit is open again."""
    require_permission(actor, CONFIRM_OVERRIDE)
    note = (note or "").strip()
    if not note:
        raise ScreeningError("Say why the false positive is refused.")
    result = _locked_result(result_id)
    if result.state != ScreeningResult.State.AWAITING_CONFIRMATION:
        raise ScreeningError("This hit has no false positive awaiting confirmation.")
    second_person_check(
        result, actor, ScreeningError("Four-eyes: someone else must decide on your false positive.")
    )
    before = result.state
    result.state = ScreeningResult.State.POSSIBLE_MATCH
    refused = f"Refused by {actor.get_username()}: {note}"
    result.resolution_reason = f"{result.resolution_reason}\n\n{refused}"[:5000]
    result.save(update_fields=["state", "resolution_reason"])
    _audit(result, "customer.screening_refused", actor, before)
    return result


def _audit(result: ScreeningResult, action: str, actor, before: str) -> None:
    # States and ids only: the matched name is personal data and the trail outlives erasure.
    audit_record(
        action=action,
        actor=actor,
        customer_id=result.customer_id,
        session=result.session,
        object=result,
        before={"state": before},
        after={"state": result.state, "list": result.list_type},
    )
