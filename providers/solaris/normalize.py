"""Solaris's identifications, documents and persons → normalized data (README.md here, "Identification
statuses"). Used by the provider's reads (fetch_update, list_media, fetch_person) and by its
webhook parsing, which turns an IDENTIFICATION notification into a hint and a PERSON_CHANGED into
a PersonUpdate: the functions here take the JSON Solaris sends and need nothing else.

A status we cannot read goes to a person (review), never to approved: an unknown word must not
verify anyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers import base
from providers.base import Decision, MediaItem, PersonUpdate, ProviderUpdate, Screening, ScreeningHit
from providers.http import parse_time

# Every status of Solaris's enum that IDnow identifications walk through. The others of the enum
# (authorization_required, confirmation_required, confirmed, identification_data_required,
# processed, rejected, signed, pre_successful, pending_account_creation, pending_ref_transfer)
# belong to other methods (bank, fourthline, postident…) or to account opening: none of them is
# an identity verified by the method we ask for, so they go to review like an unknown word.
STATUSES = {
    "created": base.CREATED,  # exists, no link yet
    "pending": base.STARTED,  # link issued; the end user must do the video call
    # IDnow's verdict is in, Solaris's own review is still open: submitted, and provisional (the
    # decision carries the provider's word, which the case page shows).
    "pending_successful": base.SUBMITTED,
    "pending_failed": base.SUBMITTED,
    "successful": base.APPROVED,
    "failed": base.DECLINED,
    "expired": base.EXPIRED,  # the link was not used in time
    "aborted": base.ABANDONED,  # the end user left the call
    # Cancelled by the partner or by Solaris: someone stopped it before any verdict, which is an
    # abandoned verification (no time ran out, so not expired); like both, a new one may start.
    "canceled": base.ABANDONED,
}
# The whole enum of README.md here; the ones not in STATUSES are read as REVIEW.
ENUM = (
    "aborted",
    "authorization_required",
    "confirmation_required",
    "confirmed",
    "created",
    "canceled",
    "expired",
    "failed",
    "identification_data_required",
    "pending",
    "pending_successful",
    "pending_failed",
    "processed",
    "rejected",
    "signed",
    "successful",
    "pre_successful",
    "pending_account_creation",
    "pending_ref_transfer",
)
# Statuses before any verdict: progress, no decision to record.
PROGRESS = frozenset({"created", "pending"})
# IDnow's verdict with Solaris's review still open.
PROVISIONAL = frozenset({"pending_successful", "pending_failed"})
PROVISIONAL_REASON = {
    "pending_successful": "pending successful (provisional): IDnow identified the person, "
    "Solaris's review is still open",
    "pending_failed": "pending failed (provisional): IDnow did not identify the person, "
    "Solaris's review is still open",
}


def status_of(provider_status: str) -> str:
    """The normalized status of one of Solaris's identification statuses (REVIEW for any other)."""
    return STATUSES.get(provider_status, base.REVIEW)


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def dedupe_key(identification_id: str, provider_status: str) -> str:
    """One fact per (identification, status): Solaris walks each status once, so a second
    notification or read of the same status is the same fact."""
    return f"solaris:identification:{identification_id}:{provider_status}"


def update_from_identification(identification: Mapping[str, Any], *, hint: bool = False) -> ProviderUpdate:
    """An identification (GET, or an IDENTIFICATION notification's body) as a normalized update:
    progress for `created` / `pending`, a decision for the rest (provisional for `pending_*`).
    `hosted_url`: the identification's `url` (IDnow's), which arrives after its id. `hint=True`
    for a notification, which only says that something changed: processing reads the
    identification (SolarisProvider.fetch_update) and applies that. Raises ValueError when `id`
    or `status` is missing."""
    identification_id = identification.get("id")
    provider_status = identification.get("status")
    if (
        not isinstance(identification_id, str)
        or not identification_id
        or not isinstance(provider_status, str)
    ):
        raise ValueError("an identification needs its id and status")
    status = status_of(provider_status)
    completed_at = parse_time(identification.get("completed_at"))
    decision = None
    if provider_status not in PROGRESS:
        reason = PROVISIONAL_REASON.get(provider_status) or _str(identification.get("failure_reason"))
        decision = Decision(
            status=status,
            provider_status=provider_status,
            reason=reason[:1000],
            reason_code="",
            decided_at=completed_at,
        )
    url = identification.get("url")
    return ProviderUpdate(
        provider_session_id=identification_id,
        dedupe_key=dedupe_key(identification_id, provider_status),
        status=status,
        attempt_id=identification_id,  # one attempt per identification: a retry is a new one
        event_code=provider_status,
        occurred_at=completed_at,
        decision=decision,
        raw=dict(identification),
        hosted_url=url if isinstance(url, str) and url.startswith(("https://", "http://")) else "",
        hint=hint,
    )


# document_type → our media context; an ID document's side is in its name (IDnow's files:
# `…_id_front.jpg`, `…_id_back.jpg`).
DOCUMENT_CONTEXTS = {
    "FACE": "face",
    "SELFIE": "face",
    "PICTURE": "face",
    "KYC_REPORT": "report",
    "REPORT": "report",
    "VIDEO": "video",
    "SIGNATURE": "signature",
    "PROOF_OF_ADDRESS": "proof-of-address",
}


def _context(document: Mapping[str, Any]) -> str:
    document_type = _str(document.get("document_type")).upper()
    name = _str(document.get("name")).lower()
    if document_type in ("ID_DOCUMENT", "PASSPORT", "ID_CARD", "IDENTIFICATION_DOCUMENT"):
        if "back" in name:
            return "document-back"
        return "document-front" if "front" in name else "document"
    return DOCUMENT_CONTEXTS.get(document_type) or document_type.lower().replace("_", "-") or "document"


def _kind(content_type: str) -> str:
    if content_type.startswith("image/"):
        return "image"
    return "video" if content_type.startswith("video/") else "other"


def media_items(documents: list[Mapping[str, Any]], identification_id: str) -> list[MediaItem]:
    """An identification's documents (GET …/identifications/{id}/documents) as media items; the
    deleted ones left out."""
    items = []
    for document in documents:
        if not isinstance(document, Mapping) or not document.get("id") or document.get("deleted"):
            continue
        content_type = _str(document.get("content_type")).lower()
        size = document.get("size")
        items.append(
            MediaItem(
                provider_media_id=_str(document["id"]),
                context=_context(document),
                name=_str(document.get("name"))[:200],
                mime_type=content_type,
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                attempt_id=identification_id,
                kind=_kind(content_type),
            )
        )
    return items


# The person's screening and risk fields (README.md here, GET /v1/persons/{id}).
PERSON_FIELDS = ("screening_progress", "risk_classification_status", "customer_vetting_status")


def person_screening(person: Mapping[str, Any]) -> Screening | None:
    """The person's screening, from `screening_progress`: POTENTIAL_MATCH is a possible match (a
    person must look); SCREENED_ACCEPTED / SCREENED_DECLINED are Solaris's own conclusion, no
    match left open. None while the person is not screened (nothing to record)."""
    progress = _str(person.get("screening_progress")).upper()
    if not progress or progress == "NOT_SCREENED":
        return None
    hits: tuple[ScreeningHit, ...] = ()
    if progress == "POTENTIAL_MATCH":
        # Solaris says that the person may be on a list, not which list nor whom they match: one
        # hit of no list in particular, under the person's own name, for a person to resolve (a
        # hit is what holds the customer for review, kyc's screening).
        name = " ".join(_str(person.get(part)) for part in ("first_name", "last_name") if person.get(part))
        hits = (
            ScreeningHit(
                list_type=base.LIST_OTHER,
                matched_name=(name or "the person at Solaris")[:300],
                date_of_birth=_str(person.get("birth_date"))[:40],
                match_types=("POTENTIAL_MATCH",),
                sources=({"list": "solaris", "name": "Solaris person screening", "url": "", "date": ""},),
                raw={field: _str(person.get(field)) for field in PERSON_FIELDS},
            ),
        )
    return Screening(
        source="solaris:person",
        possible_match=progress == "POTENTIAL_MATCH",
        hits=hits,
        check_type=progress.lower(),
        search_term={field: _str(person.get(field)) for field in PERSON_FIELDS if person.get(field)},
    )


def person_update(person: Mapping[str, Any], person_id: str, *, dedupe_key: str = "") -> PersonUpdate:
    """A person read again (GET /v1/persons/{id}) as a PERSON_CHANGED update: its screening, and
    its screening and risk fields kept in `raw` (only those: the rest is personal data we hold
    already, or do not need). `dedupe_key`: the notification's own (its Solaris-Webhook-Id) when
    one said "changed"; by default the fields' values, the same fact being the same state."""
    fields = {field: person.get(field) for field in PERSON_FIELDS if field in person}
    state = ":".join(_str(fields.get(field)) for field in PERSON_FIELDS)
    return PersonUpdate(
        provider_person_id=person_id,
        kind=base.PERSON_CHANGED,
        dedupe_key=dedupe_key or f"solaris:person:{person_id}:{state}",
        screening=person_screening(person),
        raw=fields,
    )
