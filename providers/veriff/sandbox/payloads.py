"""The JSON shapes Veriff answers and sends (README, "Endpoints" and "Webhooks"; the seed's examples).

Pure functions of the models: no writes here. URLs are absolute, built from KYC_PUBLIC_URL and
wherever config/urls.py mounts the sandbox.
"""

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse

from .models import SandboxAttempt, SandboxMedia, SandboxSession, Status

FEATURE = "selfid"
EVENT_ACTIONS = {7001: "started", 7002: "submitted"}
DECISION_CODES = {
    Status.APPROVED: 9001,
    Status.DECLINED: 9102,
    Status.RESUBMISSION_REQUESTED: 9103,
    Status.EXPIRED: 9104,
    Status.ABANDONED: 9104,
    # 9121: the public docs disagree on its meaning; the sandbox uses it for `review` (README,
    # "Statuses and codes").
    Status.REVIEW: 9121,
}
# The seed, "Response and error codes"; 539 from the current docs (README, "Statuses and codes").
DECLINE_REASONS = {
    101: "Physical document not used.",
    102: "Suspected document tampering.",
    103: "Person showing the document does not appear to match document photo.",
    105: "Suspicious behaviour.",
    106: "Known fraud.",
    107: "Velocity/abuse.",
    539: "Resubmission limit exceeded.",
}
RESUBMIT_REASONS = {
    201: "Video and/or photos missing.",
    202: "Face not clearly visible.",
    203: "Full document not visible.",
    204: "Poor image quality.",
    205: "Document damaged.",
    206: "Document type not supported.",
    207: "Document expired.",
}

# What the fake "document" shows when the session request did not say (Veriff reads it from
# the document; the sandbox has none). Names are those of the seed's decision example.
DEFAULT_PERSON = {"firstName": "SARAH", "lastName": "MORGAN", "dateOfBirth": "1967-03-30"}
DEFAULT_DOCUMENT = {"type": "PASSPORT", "country": "EE"}


def iso_ms(moment: dt.datetime | None) -> str | None:
    """Veriff's timestamp format: `2019-11-06T07:18:36.916Z`."""
    if moment is None:
        return None
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def absolute_url(name: str, *args: Any) -> str:
    return settings.KYC_PUBLIC_URL + reverse(f"veriff_sandbox:{name}", args=[str(a) for a in args])


def host_url() -> str:
    """The hosted flow's base (`host` / `baseUrl`): the session url is `{host}/v/{token}`."""
    return absolute_url("hosted", "-").removesuffix("/v/-")


def session_url(session: SandboxSession) -> str:
    return absolute_url("hosted", session.session_token)


def session_response(session: SandboxSession) -> dict[str, Any]:
    """POST /sessions (201) and PATCH /sessions/{id}. The seed names the base `baseUrl` in one
    place and `host` in another: both are emitted (README, "Endpoints")."""
    return {
        "status": "success",
        "verification": {
            "id": str(session.id),
            "url": session_url(session),
            "vendorData": session.vendor_data,
            "host": host_url(),
            "baseUrl": host_url(),
            "status": session.status,
            "sessionToken": session.session_token,
        },
    }


def event_body(session: SandboxSession, attempt: SandboxAttempt, code: int) -> dict[str, Any]:
    """Event webhook (README, "Webhooks"): progress only, never a decision."""
    return {
        "id": str(session.id),
        "attemptId": str(attempt.id),
        "feature": FEATURE,
        "code": code,
        "action": EVENT_ACTIONS[code],
        "vendorData": session.vendor_data,
        "endUserId": session.end_user_id,
    }


def verified_identity(session: SandboxSession, *, with_defaults: bool = True) -> tuple[dict, dict]:
    """The person and document "read from the document": the session request's values, with
    fake defaults for what it left out. Without defaults (a 9104: the user never showed a
    document) only what the integration sent comes back."""
    person, document = dict(session.person), dict(session.document)
    if with_defaults:
        for key, value in DEFAULT_PERSON.items():
            person[key] = person.get(key) or value
        for key, value in DEFAULT_DOCUMENT.items():
            document[key] = document.get(key) or value
        # Derived from the session id so that the decision and the generated photos agree.
        document["number"] = document.get("number") or "SBX" + session.id.hex[:6].upper()
        issued = session.created_at.date().replace(day=1)
        document.setdefault("validFrom", issued.replace(year=issued.year - 2).isoformat())
        document.setdefault("validUntil", issued.replace(year=issued.year + 8).isoformat())
    return person, document


@dataclass(frozen=True)
class RiskSignals:
    """What a forced decision may carry beyond its status (control endpoint options)."""

    risk_labels: tuple[str, ...] = ()
    matched_session_id: str | None = None
    pep_sanction_match: str | None = None
    omit_attempt_id: bool = False


# A few of Veriff's published risk labels, with their category (any other label is "other").
RISK_LABEL_CATEGORIES = {
    "document_crosslinked_with_fraud": "document",
    "document_integration_level_crosslinked_with_fraud": "document",
    "person_appears_in_multiple_sessions": "person",
    "face_crosslinked_with_fraud": "person",
    "device_crosslinked_with_fraud": "device",
}


def decision_body(
    session: SandboxSession,
    attempt: SandboxAttempt,
    *,
    status: str,
    reason_code: int | None,
    decided_at: dt.datetime,
    risk: RiskSignals | None = None,
) -> dict[str, Any]:
    """Decision webhook and GET /decision (README, "Webhooks", the seed's example field order).

    `risk` (control endpoint) adds the risk signals current Veriff decisions can carry and can
    leave `attemptId` out, as the seed's examples and public fixtures do (README.md here)."""
    risk = risk or RiskSignals()
    person, document = verified_identity(
        session, with_defaults=status not in (Status.EXPIRED, Status.ABANDONED)
    )
    reasons = DECLINE_REASONS if status == Status.DECLINED else RESUBMIT_REASONS
    body = {
        "status": "success",
        "verification": {
            "id": str(session.id),
            "attemptId": str(attempt.id),
            "code": DECISION_CODES[status],
            "person": {
                "gender": person.get("gender"),
                "idNumber": person.get("idNumber"),
                "lastName": person.get("lastName"),
                "firstName": person.get("firstName"),
                "citizenship": None,
                "dateOfBirth": person.get("dateOfBirth"),
                "nationality": document.get("country"),
                "yearOfBirth": None,
                "pepSanctionMatch": risk.pep_sanction_match,
            },
            "reason": reasons.get(reason_code) if reason_code else None,
            "status": status,
            "comments": [],
            "document": {
                "type": document.get("type"),
                "number": document.get("number"),
                "country": document.get("country"),
                "validFrom": document.get("validFrom"),
                "validUntil": document.get("validUntil"),
            },
            "reasonCode": reason_code,
            "vendorData": session.vendor_data,
            "endUserId": session.end_user_id,
            "decisionTime": iso_ms(decided_at),
            # acceptanceTime = when the session was created (README, "Webhooks" field notes).
            "acceptanceTime": iso_ms(session.created_at),
            "additionalVerifiedData": {},
        },
        "technicalData": {"ip": attempt.ip},
    }
    verification = body["verification"]
    if risk.omit_attempt_id:
        del verification["attemptId"]
    if risk.risk_labels:
        verification["riskLabels"] = [
            {"label": label, "category": RISK_LABEL_CATEGORIES.get(label, "other"), "sessionIds": []}
            for label in risk.risk_labels
        ]
    if risk.matched_session_id:
        verification["biometricAuthentication"] = {
            "matchedSessionId": risk.matched_session_id,
            "matchedSessionVendorData": None,
        }
    return body


def media_item(media: SandboxMedia) -> dict[str, Any]:
    # `size` is in bytes: the seed says KB in the list but shows bytes on upload, and clients
    # must not rely on the unit (README, "Endpoints").
    item = {
        "id": str(media.id),
        "name": media.context,
        "context": media.context,
        "url": absolute_url("media-download", media.id),
        "timestamp": timestamp_ref(media),
        "size": media.size,
        "mimetype": media.mimetype,
    }
    if media.is_video:
        item["duration"] = media.duration
    return item


def media_listing(media: Iterable[SandboxMedia]) -> dict[str, Any]:
    items = list(media)
    return {
        "status": "success",
        "videos": [media_item(m) for m in items if m.is_video],
        "images": [media_item(m) for m in items if not m.is_video],
    }


def upload_response(media: SandboxMedia) -> dict[str, Any]:
    """POST /media answers with a file name, `document-back.jpg` in the seed."""
    extension = {"image/jpeg": "jpg", "image/png": "png"}.get(media.mimetype, "bin")
    item = media_item(media)
    item["name"] = f"{media.context}.{extension}"
    return {"status": "success", "image": item}


def timestamp_ref(media: SandboxMedia) -> dict[str, str]:
    return {"url": absolute_url("timestamp", media.timestamp_id), "id": str(media.timestamp_id)}


def attempts_listing(session: SandboxSession) -> dict[str, Any]:
    attempts = session.attempts.order_by("number")
    return {"status": "success", "verifications": [{"id": str(a.id), "status": a.status} for a in attempts]}


def person_response(session: SandboxSession, *, submitted: bool) -> dict[str, Any]:
    """GET /person. Until something was submitted, only what the integration sent is known."""
    person, document = verified_identity(session, with_defaults=submitted)
    return {
        "status": "success",
        "person": {
            "id": str(uuid.uuid5(session.id, "person")),
            "firstName": person.get("firstName"),
            "lastName": person.get("lastName"),
            "idCode": person.get("idNumber"),
            "dateOfBirth": person.get("dateOfBirth"),
            "gender": person.get("gender"),
            "nationality": document.get("country"),
            "placeOfBirth": None,
            "citizenships": [],
            "pepSanctionMatches": pep_sanction_matches(person, document, session.created_at),
        },
    }


# The sandbox's fake PEP / sanctions list (README, "Sandbox controls for these rules": the
# person record matches a fake PEP list), keyed on the last name so that a tester picks the outcome.
FAKE_PEP_LIST = {"pep": "PEP", "sanctioned": "SIP"}


def pep_sanction_matches(person: dict, document: dict, when: dt.datetime) -> list[dict[str, Any]]:
    category = FAKE_PEP_LIST.get(str(person.get("lastName") or "").strip().lower())
    if category is None:
        return []
    name = f"{person.get('firstName') or ''} {person.get('lastName') or ''}".strip()
    match = {"name": name, "nationality": document.get("country"), "category": category}
    return [{"numberOfMatches": 1, "date": iso_ms(when), "matches": [match]}]


# The lists a watchlist hit can be found on, as Veriff's `listingsRelatedToMatch` names them.
WATCHLIST_LISTS = ("sanctions", "pep", "adverseMedia", "warnings", "fitnessProbity")
WATCHLIST_SOURCES = {
    "sanctions": ("Sandbox Consolidated Sanctions List", "https://sanctions.example.org"),
    "pep": ("Sandbox PEP Register", "https://pep.example.org"),
    "adverseMedia": ("Sandbox News Archive", "https://news.example.org"),
    "warnings": ("Sandbox Most Wanted", "https://warnings.example.org"),
    "fitnessProbity": ("Sandbox Disqualified Directors", "https://probity.example.org"),
}


def watchlist_body(
    session: SandboxSession,
    attempt: SandboxAttempt,
    *,
    match_status: str,
    lists: Iterable[str],
    check_type: str,
    created_at: dt.datetime,
) -> dict[str, Any]:
    """Veriff's watchlist-screening webhook (PEP, sanctions, adverse media; README.md here): one
    hit per list asked for, on the session's person, when `match_status` is possible_match."""
    person, document = verified_identity(session)
    name = f"{person.get('firstName') or ''} {person.get('lastName') or ''}".strip()
    birth = str(person.get("dateOfBirth") or "")
    hits = []
    if match_status == "possible_match":
        for index, listing in enumerate(lists):
            source_name, source_url = WATCHLIST_SOURCES[listing]
            related = {key: [] for key in WATCHLIST_LISTS}
            related[listing] = [{"sourceName": source_name, "sourceUrl": source_url, "date": None}]
            hits.append(
                {
                    # The first hit is exact; the others a near spelling, born the same year.
                    "matchedName": name if index == 0 else name[:-1] or name,
                    "countries": [document.get("country")] if document.get("country") else [],
                    "dateOfBirth": birth if index == 0 else birth[:4],
                    "dateOfDeath": None,
                    "matchTypes": ["name_exact", "date_of_birth"]
                    if index == 0
                    else ["name_fuzzy", "year_of_birth"],
                    "aka": [],
                    "associates": [],
                    "listingsRelatedToMatch": related,
                }
            )
    return {
        "checkType": check_type,
        "attemptId": str(attempt.id),
        "sessionId": str(session.id),
        "vendorData": session.vendor_data,
        "endUserId": session.end_user_id,
        "matchStatus": match_status,
        "searchTerm": {"name": name, "year": birth[:4]},
        "totalHits": len(hits),
        "createdAt": iso_ms(created_at),
        "hits": hits,
    }
