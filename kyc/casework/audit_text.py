"""The audit trail in words for people: "Case assigned — assignee: alice → bob" rather than
`case.assigned {'assignee_id': 3}`. The entries themselves keep ids and field names (they must
outlive erasure, kyc/audit.py); names are put in only when an entry is shown."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from kyc.models import AuditEvent

ACTIONS = {
    "api_key.created": "API key created",
    "api_key.revoked": "API key revoked",
    "audit.exported": "Audit trail exported",
    "case.assigned": "Case assigned",
    "case.unassigned": "Case unassigned",
    "case.commented": "Comment added",
    "case.viewed": "Case page viewed",
    "case.exported": "Case file exported",
    "queue.exported": "Review queue exported",
    "customer.created": "Customer created",
    "customer.erased": "Personal data erased",
    "customer.kyc_status_changed": "Customer's KYC status changed",
    "customer.session_cap_lifted": "More sessions allowed today",
    "customer.updated": "Customer record changed",
    "customer.verification_link_sent": "Verification link sent",
    "media.parked": "Media download parked",
    "media.redownload_requested": "Media download asked again",
    "media.retry_requested": "Media download retried",
    "media.stored": "Evidence file stored",
    "media.viewed": "Evidence viewed",
    "review.confirmed": "Override confirmed",
    "review.proposed": "Staff decision proposed",
    "review.rejected": "Override rejected",
    "review.superseded": "Staff decision superseded",
    "session.created": "Session created",
    "session.parked": "Session parked",
    "session.provider_decision": "Provider decision received",
    "session.polling_stopped": "Polling the provider stopped",
    "session.provider_session_created": "Session created at the provider",
    "session.retry_requested": "Session retry asked",
    "session.status_changed": "Session status changed",
    "staff.backup_codes_generated": "Backup codes generated",
    "staff.second_factor_enrolled": "Second factor enrolled",
    "staff.second_factor_verified": "Second factor verified",
}

FIELDS = {
    "assignee_id": "assignee",
    "kyc_status": "KYC status",
    "status": "status",
    "state": "state",
    "outcome": "outcome",
    "code": "code",
    "reason_code": "reason code",
    "applied": "applied",
    "context": "file",
    "contexts": "files",
    "media": "files",
    "via": "via",
    "sha256": "SHA-256",
    "size": "size (bytes)",
    "mime_type": "type",
    "provider": "provider",
    "provider_session_id": "provider session id",
    "external_ref": "reference",
    "fields": "fields",
    "filters": "filters",
    "searched": "with a search",
    "length": "length (characters)",
    "superseded_reviews": "superseded decisions",
    "reviews": "decisions",
    "why": "why",
    "sessions_counted": "sessions counted",
    "cap": "daily limit",
    "channel": "channel",
    "attempts": "attempts",
    "was_parked": "was parked",
    "files": "files",
    "rows": "rows",
    "mismatched": "files not matching their digest",
}
# Keys whose values are user ids: shown as usernames.
USER_FIELDS = frozenset({"assignee_id"})
# Keys shown with the files' names (`contexts`) instead.
HIDDEN_WITH = {"media": "contexts"}


def action_label(action: str) -> str:
    return ACTIONS.get(action) or action.replace("_", " ").replace(".", ": ", 1).capitalize()


def usernames(events: list[AuditEvent]) -> dict[int, str]:
    """The usernames of the users named in these entries' values: one query for all of them."""
    ids = {
        value
        for event in events
        for values in (event.before or {}, event.after or {})
        for key, value in values.items()
        if key in USER_FIELDS and isinstance(value, int)
    }
    if not ids:
        return {}
    return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))


def actor_label(event: AuditEvent) -> str:
    """ "alice" for a staff member, "provider:veriff" / "system" otherwise."""
    label = event.actor_label or ""
    return label.removeprefix("user:") if label.startswith("user:") else label


def _value(key: str, value: Any, users: dict[int, str]) -> str:
    if value is None or value == "":
        return "none"
    if key in USER_FIELDS and isinstance(value, int):
        return users.get(value, f"user {value}")
    if key == "sha256" and isinstance(value, str) and len(value) > 16:
        return f"{value[:16]}…"  # enough to tell files apart; the entry's page has it whole
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "none"
    return str(value).replace("_", " ") if key in ("status", "state", "kyc_status", "outcome") else str(value)


def describe(event: AuditEvent, users: dict[int, str]) -> str:
    """The entry's change in words: "assignee: alice → bob; …"."""
    before, after = event.before or {}, event.after or {}
    parts = []
    for key in list(dict.fromkeys([*before, *after])):
        if key in HIDDEN_WITH and HIDDEN_WITH[key] in after:
            continue
        label = FIELDS.get(key, key.replace("_", " "))
        if key in before and key in after:
            parts.append(f"{label}: {_value(key, before[key], users)} → {_value(key, after[key], users)}")
        elif key in after:
            parts.append(f"{label}: {_value(key, after[key], users)}")
        else:
            parts.append(f"{label} was {_value(key, before[key], users)}")
    return "; ".join(parts)
