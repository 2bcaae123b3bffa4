"""Veriff payloads → normalized updates (decision and event webhooks, GET /sessions/{id}/decision).

Statuses are keyed on Veriff's status string; the numeric code is recorded but never trusted
alone (9121 means "review" in one of Veriff's public tables and "abandoned" in another).
An unknown status is treated as needing a human, never as success: a status we cannot read must
not verify anyone.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from providers import base
from providers.base import (
    Decision,
    MediaItem,
    ProviderUpdate,
    RiskFlag,
    Screening,
    ScreeningHit,
    WebhookMalformed,
)
from providers.http import parse_time

DECISION_STATUSES = {
    "approved": base.APPROVED,
    "declined": base.DECLINED,
    "resubmission_requested": base.RESUBMISSION_REQUESTED,
    "review": base.REVIEW,
    "expired": base.EXPIRED,
    "abandoned": base.ABANDONED,
}

# Event webhooks: 7001 started, 7002 submitted (Veriff's "Event webhook" documentation). Its
# integration checklist also lists Expired and Abandoned on the event endpoint, so those actions
# are understood there too.
EVENT_CODES = {7001: base.STARTED, 7002: base.SUBMITTED}
EVENT_ACTIONS = {
    "started": base.STARTED,
    "submitted": base.SUBMITTED,
    "expired": base.EXPIRED,
    "abandoned": base.ABANDONED,
}

DECISION_CODES = {
    9001: "Positive: person was verified",
    9102: "Negative: person has not been verified",
    9103: "Resubmitted: resubmission has been requested",
    9104: "Negative: verification has been expired or abandoned",
    9121: "Review: the decision is left to a person (manual review)",
    9151: "Intermediate positive: SelfID was successful",
    9161: "Intermediate positive: video call was successful",
}
REASON_CODES = {
    "101": "Physical document not used",
    "102": "Suspected document tampering",
    "103": "Person showing the document does not appear to match document photo",
    "105": "Suspicious behaviour",
    "106": "Known fraud",
    "107": "Velocity/abuse detected",
    "108": "Velocity/abuse: duplicated user",
    "109": "Velocity/abuse: duplicated device",
    "110": "Velocity/abuse: duplicated ID",
    "201": "Video and/or photos missing",
    "202": "Face not clearly visible",
    "203": "Full document not visible",
    "204": "Poor image quality",
    "205": "Document damaged",
    "206": "Document type not supported",
    "207": "Document expired",
    "539": "Resubmission limit exceeded",
}
# What each decline reason is about (Veriff's reason codes, REASON_CODES above): 1xx other than
# 101 speak of tampering, a face that is not the document's, fraud or abuse; 101 (a screen or a
# copy instead of the document) and the 2xx/539 photo and document problems are ones the customer
# can put right.
DECLINE_KINDS = {
    code: base.DECLINE_QUALITY if code == "101" or not code.startswith("1") else base.DECLINE_FRAUD
    for code in REASON_CODES
}


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


class _NumberOutOfRange(ValueError):
    pass


def _finite_float(text: str) -> float:
    # JSON has no infinity, but 1e999 reads as one in Python, and nothing downstream can hold it
    # (int() overflows, PostgreSQL's jsonb refuses it).
    value = float(text)
    if math.isinf(value):
        raise _NumberOutOfRange(f"number out of range: {text[:20]}")
    return value


def _refuse_constant(name: str) -> float:
    raise _NumberOutOfRange(f"{name} is not JSON")


# Built once: json.loads builds a decoder on every call it is given options.
_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_refuse_constant)


def load_json_object(body: bytes) -> dict[str, Any]:
    try:
        # As json.loads reads bytes (UTF-8, -16 or -32), with our decoder.
        data = _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except _NumberOutOfRange as exc:
        raise WebhookMalformed(f"body is not valid JSON: {exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookMalformed(f"body is not valid JSON: {exc.__class__.__name__}") from exc
    except RecursionError as exc:
        raise WebhookMalformed("body is not valid JSON: nested too deeply") from exc
    if not isinstance(data, dict):
        raise WebhookMalformed("body is not a JSON object")
    return data


def _is_session_id(value: Any) -> bool:
    # Veriff's ids are UUIDs. A NUL (which no PostgreSQL text column holds) or an unpaired
    # surrogate (which no UTF-8 database can store) is no id of Veriff's.
    return isinstance(value, str) and value.isprintable() and bool(value)


def decision_from_verification(verification: Mapping[str, Any], raw: Mapping[str, Any]) -> ProviderUpdate:
    session_id = verification.get("id")
    provider_status = verification.get("status")
    if not _is_session_id(session_id) or not isinstance(provider_status, str):
        raise WebhookMalformed("verification.id and verification.status are required strings")
    code = _int_or_none(verification.get("code"))
    status = DECISION_STATUSES.get(provider_status, base.REVIEW)
    if code in (9151, 9161):
        # Intermediate positives: a final decision follows, nothing moves now.
        status = None
    attempt_id = _str(verification.get("attemptId"))
    decision_time = verification.get("decisionTime")
    person = verification.get("person") if isinstance(verification.get("person"), dict) else {}
    document = verification.get("document") if isinstance(verification.get("document"), dict) else {}
    decision = Decision(
        risk_flags=risk_flags(verification),
        status=status or base.SUBMITTED,
        provider_status=provider_status,
        code=code,
        reason=_str(verification.get("reason")),
        reason_code=_str(verification.get("reasonCode")),
        decided_at=parse_time(decision_time),
        person=person,
        document=document,
    )
    return ProviderUpdate(
        provider_session_id=session_id,
        dedupe_key=f"veriff:decision:{session_id}:{attempt_id}:{code}:{provider_status}:{_str(decision_time)}",
        status=status,
        attempt_id=attempt_id,
        event_code=_str(code),
        occurred_at=decision.decided_at,
        decision=decision,
        raw=raw,
    )


# `person.pepSanctionMatch` values that say "nothing found" (Veriff's own example sends null).
NO_MATCH_WORDS = frozenset({"", "no match", "no_match", "false", "none", "clear"})


def risk_flags(verification: Mapping[str, Any]) -> tuple[base.RiskFlag, ...]:
    """The risk signals of a decision, kept structured (README.md in this package, "Risk flags"):
    `riskLabels[]` ({label, category, sessionIds}), `person.pepSanctionMatch`, and
    `biometricAuthentication.matchedSessionId` (the same face on another session). Shapes we do
    not recognise are skipped here and stay in the raw payload."""
    flags: list[RiskFlag] = []
    labels = verification.get("riskLabels")
    for entry in labels if isinstance(labels, list) else ():
        if isinstance(entry, str):
            entry = {"label": entry}
        if not isinstance(entry, dict) or not _str(entry.get("label")):
            continue
        sessions = entry.get("sessionIds")
        sessions = [_str(s) for s in sessions if s] if isinstance(sessions, list) else []
        detail = "; ".join(
            part
            for part in (_str(entry.get("category")), sessions and f"sessions {', '.join(sessions)}")
            if part
        )
        flags.append(RiskFlag(kind=base.RISK_LABEL, code=_str(entry["label"])[:100], detail=detail[:500]))
    person = verification.get("person")
    match = person.get("pepSanctionMatch") if isinstance(person, dict) else None
    if isinstance(match, list | dict):
        match = "match" if match else ""
    if match is True or (isinstance(match, str) and match.strip().lower() not in NO_MATCH_WORDS):
        flags.append(RiskFlag(kind=base.PEP_SANCTIONS, code=_str(match)[:100]))
    biometric = verification.get("biometricAuthentication")
    matched = biometric.get("matchedSessionId") if isinstance(biometric, dict) else None
    if matched:
        flags.append(RiskFlag(kind=base.MATCHED_SESSION, code="matched_session", detail=_str(matched)[:500]))
    return tuple(flags)


# Veriff's watchlist hits list their sources per kind of list (`listingsRelatedToMatch`); a hit
# counts under its most severe list (sanctions first: a false positive there needs four eyes).
LISTING_KINDS = (
    ("sanctions", base.LIST_SANCTIONS),
    ("pep", base.LIST_PEP),
    ("warnings", base.LIST_WARNING),
    ("fitnessProbity", base.LIST_WARNING),
    ("adverseMedia", base.LIST_ADVERSE_MEDIA),
)
# Words in `listsMatched` / `matchTypes` that name a list when no listings are given.
LIST_WORDS = (
    ("sanction", base.LIST_SANCTIONS),
    ("sip", base.LIST_SANCTIONS),
    ("pep", base.LIST_PEP),
    ("adverse", base.LIST_ADVERSE_MEDIA),
    ("media", base.LIST_ADVERSE_MEDIA),
    ("warning", base.LIST_WARNING),
)
SEVERITY = (base.LIST_SANCTIONS, base.LIST_PEP, base.LIST_WARNING, base.LIST_ADVERSE_MEDIA, base.LIST_OTHER)


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(_str(v) for v in value if v not in (None, "")) if isinstance(value, list) else ()


def _list_of_word(word: str) -> str:
    lowered = word.lower()
    return next((kind for key, kind in LIST_WORDS if key in lowered), base.LIST_OTHER)


def watchlist_hit(hit: Mapping[str, Any]) -> ScreeningHit:
    listings = hit.get("listingsRelatedToMatch")
    listings = listings if isinstance(listings, dict) else {}
    sources: list[dict[str, str]] = []
    kinds: set[str] = set()
    for key, kind in LISTING_KINDS:
        for source in listings.get(key) or []:
            if isinstance(source, dict):
                kinds.add(kind)
                sources.append(
                    {
                        "list": kind,
                        "name": _str(source.get("sourceName"))[:300],
                        "url": _str(source.get("sourceUrl"))[:500],
                        "date": _str(source.get("date"))[:40],
                    }
                )
    for name in _strings(hit.get("listsMatched")):
        kinds.add(_list_of_word(name))
        sources.append({"list": _list_of_word(name), "name": name[:300], "url": "", "date": ""})
    match_types = _strings(hit.get("matchTypes"))
    if not kinds:
        kinds = {_list_of_word(t) for t in match_types} or {base.LIST_OTHER}
    list_type = next(kind for kind in SEVERITY if kind in kinds or kind == base.LIST_OTHER)
    return ScreeningHit(
        list_type=list_type,
        matched_name=_str(hit.get("matchedName"))[:300],
        date_of_birth=_str(hit.get("dateOfBirth"))[:40],
        countries=_strings(hit.get("countries")),
        match_types=match_types,
        sources=tuple(sources),
        raw=dict(hit),
    )


def watchlist_update(body: bytes) -> ProviderUpdate:
    """Veriff's watchlist-screening webhook (PEP, sanctions, adverse media; README.md here)."""
    data = load_json_object(body)
    session_id = data.get("sessionId")
    match_status = data.get("matchStatus")
    if not isinstance(session_id, str) or not session_id:
        raise WebhookMalformed("sessionId is required")
    if not isinstance(match_status, str) or not match_status:
        raise WebhookMalformed("matchStatus is required")
    hits = data.get("hits")
    if hits is not None and not isinstance(hits, list):
        raise WebhookMalformed("hits must be a list")
    search_term = data.get("searchTerm") if isinstance(data.get("searchTerm"), dict) else {}
    screening = Screening(
        source="veriff:watchlist",
        # Anything but an explicit no_match is read as a possible match: a status Veriff adds later
        # is looked at by a person, never taken as clear (README.md here, "Watchlist screening").
        possible_match=match_status != "no_match",
        hits=tuple(watchlist_hit(h) for h in hits or [] if isinstance(h, dict)),
        check_type=_str(data.get("checkType"))[:40],
        search_term=search_term,
        checked_at=parse_time(data.get("createdAt")),
    )
    return ProviderUpdate(
        provider_session_id=session_id,
        dedupe_key=f"veriff:watchlist:{body_digest(body)}",
        status=None,
        attempt_id=_str(data.get("attemptId")),
        event_code="watchlist",
        occurred_at=screening.checked_at,
        screening=screening,
        raw=data,
    )


# The person endpoint's `category` (Veriff documents "SIP or PEP"): SIP, a sanctioned or special-interest
# person, is read as a sanctions hit (the stricter handling).
PERSON_CATEGORIES = {"PEP": base.LIST_PEP, "SIP": base.LIST_SANCTIONS}


def person_screening(data: Mapping[str, Any]) -> Screening:
    """GET /sessions/{id}/person's `pepSanctionMatches` as a screening result."""
    person = data.get("person") if isinstance(data.get("person"), dict) else {}
    hits: list[ScreeningHit] = []
    checked_at = None
    for group in person.get("pepSanctionMatches") or []:
        if not isinstance(group, dict):
            continue
        checked_at = checked_at or parse_time(group.get("date"))
        for match in group.get("matches") or []:
            if not isinstance(match, dict) or not match.get("name"):
                continue
            category = _str(match.get("category")).upper()
            nationality = _str(match.get("nationality"))
            hits.append(
                ScreeningHit(
                    list_type=PERSON_CATEGORIES.get(category, _list_of_word(category)),
                    matched_name=_str(match["name"])[:300],
                    countries=(nationality,) if nationality else (),
                    match_types=("name", *((f"category {category}",) if category else ())),
                    sources=({"list": category, "name": "Veriff person record", "url": "", "date": ""},),
                    raw=dict(match),
                )
            )
    return Screening(
        source="veriff:person", possible_match=bool(hits), hits=tuple(hits), checked_at=checked_at
    )


def event_update(data: Mapping[str, Any]) -> ProviderUpdate:
    session_id = data.get("id")
    if not _is_session_id(session_id):
        raise WebhookMalformed("event id is required")
    code = _int_or_none(data.get("code"))
    action = _str(data.get("action"))
    if code is None and not action:
        raise WebhookMalformed("event code or action is required")
    status = EVENT_CODES.get(code) if code is not None else None
    status = status or EVENT_ACTIONS.get(action)
    attempt_id = _str(data.get("attemptId"))
    return ProviderUpdate(
        provider_session_id=session_id,
        dedupe_key=f"veriff:event:{session_id}:{attempt_id}:{code}:{action}",
        status=status,
        attempt_id=attempt_id,
        event_code=_str(code) if code is not None else action,
        raw=data,
    )


def parse_delivery(body: bytes) -> ProviderUpdate:
    """A decision or event delivery, recognised by its shape rather than by the URL it came to:
    Veriff's integration checklist sends expired/abandoned to the event endpoint."""
    data = load_json_object(body)
    verification = data.get("verification")
    if isinstance(verification, dict):
        return decision_from_verification(verification, data)
    if "verification" in data:
        raise WebhookMalformed("verification must be an object")
    return event_update(data)


def media_items(listing: Mapping[str, Any], attempt_id: str = "") -> list[MediaItem]:
    items = []
    for kind, key in (("image", "images"), ("video", "videos")):
        for entry in listing.get(key) or []:
            if not isinstance(entry, dict) or not entry.get("id"):
                continue
            name = _str(entry.get("name"))
            items.append(
                MediaItem(
                    provider_media_id=_str(entry["id"]),
                    context=_str(entry.get("context")) or name or kind,
                    name=name,
                    mime_type=_str(entry.get("mimetype")),
                    size=_int_or_none(entry.get("size")),
                    attempt_id=attempt_id,
                    kind=kind,
                    url=_str(entry.get("url")),
                )
            )
    return items


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
