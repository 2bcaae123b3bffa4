"""Veriff payloads → normalized updates (veriff.md §4.3–4.4).

Statuses are keyed on Veriff's status string; the numeric code is recorded but never trusted
alone (9121 means "review" in one public table and "abandoned" in another, veriff.md §4.3).
An unknown status is treated as needing a human (providers/README.md §5, rule 6), never as success.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from providers import base
from providers.base import Decision, MediaItem, ProviderUpdate, WebhookMalformed

DECISION_STATUSES = {
    "approved": base.APPROVED,
    "declined": base.DECLINED,
    "resubmission_requested": base.RESUBMISSION_REQUESTED,
    "review": base.REVIEW,
    "expired": base.EXPIRED,
    "abandoned": base.ABANDONED,
}

# Event webhooks: 7001 started, 7002 submitted (seed "Event webhook"). The seed's checklist also
# lists Expired and Abandoned on the event endpoint, so those actions are understood there too.
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
    9121: "Review (or abandoned, per another Veriff table)",
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
# What each decline reason is about (veriff.md, "Reason codes"): 1xx other than 101 speak of
# tampering, a face that is not the document's, fraud or abuse; 101 (a screen or a copy instead of
# the document) and the 2xx/539 photo and document problems are ones the customer can put right.
DECLINE_KINDS = {
    code: base.DECLINE_QUALITY if code == "101" or not code.startswith("1") else base.DECLINE_FRAUD
    for code in REASON_CODES
}


def parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def load_json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookMalformed(f"body is not valid JSON: {exc.__class__.__name__}") from exc
    if not isinstance(data, dict):
        raise WebhookMalformed("body is not a JSON object")
    return data


def decision_from_verification(verification: Mapping[str, Any], raw: Mapping[str, Any]) -> ProviderUpdate:
    session_id = verification.get("id")
    provider_status = verification.get("status")
    if not isinstance(session_id, str) or not session_id or not isinstance(provider_status, str):
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


def event_update(data: Mapping[str, Any]) -> ProviderUpdate:
    session_id = data.get("id")
    if not isinstance(session_id, str) or not session_id:
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
    the seed sends expired/abandoned to the event endpoint."""
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
