"""Duplicate checks for the case page: other customers whose document carries the same number, or
whose session the provider says shows the same face. Two queries whatever the history's size
(the case page's query count is constant: tests/kyc/test_queries.py)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db.models import Q

from kyc.models import Customer, ProviderDecision, VerificationSession
from providers.capabilities import DuplicateDetection
from providers.registry import find_provider

SAME_DOCUMENT, SAME_FACE = "document", "face"
# A case page lists this many at most; the search by document number finds all of them.
DUPLICATES_LIMIT = 20


@dataclass
class Duplicate:
    kind: str  # SAME_DOCUMENT | SAME_FACE
    customer: Customer
    session_id: int
    detail: str  # the document number, or the provider's session id


def case_duplicates(sessions: list[VerificationSession]) -> list[Duplicate]:
    """`sessions`: one customer's sessions with their decisions prefetched (kyc.queue.case_detail).
    Another customer with one of their document numbers, or a session the provider matched by face."""
    if not sessions:
        return []
    customer_id = sessions[0].customer_id
    numbers: set[str] = set()
    matched: dict[str, set[str]] = {}
    for session in sessions:
        provider = find_provider(session.provider)
        reports_matches = isinstance(provider, DuplicateDetection)
        for decision in session.decisions.all():
            number = (decision.document or {}).get("number")
            if isinstance(number, str) and number.strip():
                numbers.add(number.strip())
            if not reports_matches:
                continue
            for provider_session_id in provider.matched_session_ids(decision.raw or {}):
                matched.setdefault(session.provider, set()).add(provider_session_id)
    found: list[Duplicate] = []
    seen: set[tuple[str, int]] = set()
    if numbers:
        # Case and spacing as printed differ between readings; iexact is the same expression the
        # document-number index of migration 0007 is built on (PostgreSQL).
        same_number = reduce(or_, (Q(document__number__iexact=n) for n in sorted(numbers)))
        decisions = (
            ProviderDecision.objects.filter(same_number)
            .exclude(session__customer_id=customer_id)
            .select_related("session__customer")
            .order_by("-received_at", "-id")[:DUPLICATES_LIMIT]
        )
        for decision in decisions:
            key = (SAME_DOCUMENT, decision.session.customer_id)
            if key not in seen:
                seen.add(key)
                found.append(
                    Duplicate(
                        SAME_DOCUMENT,
                        decision.session.customer,
                        decision.session_id,
                        str(decision.document.get("number", "")),
                    )
                )
    if matched:
        same_face = reduce(
            or_, (Q(provider=p, provider_session_id__in=sorted(ids)) for p, ids in sorted(matched.items()))
        )
        others = (
            VerificationSession.objects.filter(same_face)
            .exclude(customer_id=customer_id)
            .select_related("customer")
            .order_by("-created_at", "-id")[:DUPLICATES_LIMIT]
        )
        for other in others:
            key = (SAME_FACE, other.customer_id)
            if key not in seen:
                seen.add(key)
                found.append(Duplicate(SAME_FACE, other.customer, other.pk, other.provider_session_id or ""))
    return found
