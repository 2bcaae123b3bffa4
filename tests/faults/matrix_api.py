"""The authorization matrix's rows for the REST API (/api/): every role of ROLES and KEY_ROLES."""

from __future__ import annotations

from kyc.models import AuditEvent
from tests.faults.matrix import FORBIDDEN, KEY_LABELS, NOT_FOUND, OK, UNAUTHORIZED, Case, Row

# --- the REST API (issue 4) ------------------------------------------------------------------
# A staff member's session carries every scope (api/permissions.py); Django permissions apply where
# an endpoint checks one: the evidence bytes (kyc.view_media) and the erasure (kyc.erase_customer).
API_STAFF_SESSIONS = {
    role: OK
    for role in (
        "staff_without_permissions",
        "read_only",
        "operator",
        "analyst",
        "supervisor",
        "auditor",
        "superuser",
    )
}
# No credential, or a revoked key: 401; a key without the endpoint's scope: 403 (the rows' default,
# insufficient_scope).
API_NO_KEY = {"anonymous": UNAUTHORIZED, "key_revoked": UNAUTHORIZED}


def _api_media_view_audited(case: Case, role: str, outcome: str) -> None:
    by_key = KEY_LABELS.get(role)
    viewed = AuditEvent.objects.filter(action="media.viewed", object_id=str(case.media.pk), after__via="api")
    viewed = viewed.filter(actor_label=by_key) if by_key else viewed.filter(actor__username=role)
    assert viewed.exists() == (outcome == OK), role


API_ROWS: list[Row] = [
    Row(
        "api customer list",
        "GET",
        lambda c: "/api/v1/customers/",
        {**API_NO_KEY, **API_STAFF_SESSIONS, "key_read": OK},
        api=True,
    ),
    Row(
        "api customer detail",
        "GET",
        lambda c: f"/api/v1/customers/{c.customer.pk}/",
        {**API_NO_KEY, **API_STAFF_SESSIONS, "key_read": OK},
        api=True,
    ),
    Row(
        "api verification start (POST)",
        "POST",
        lambda c: f"/api/v1/customers/{c.spare.pop().pk}/verifications/",
        {**API_NO_KEY, **API_STAFF_SESSIONS, "key_write": OK},
        data=lambda c, http, base: {},
        api=True,
    ),
    Row(
        "api verification link (POST)",
        "POST",
        lambda c: f"/api/v1/customers/{c.customer.pk}/verification-links/",
        {**API_NO_KEY, **API_STAFF_SESSIONS, "key_write": OK},
        data=lambda c, http, base: {},
        api=True,
    ),
    Row(
        "api staff review queue",
        "GET",
        lambda c: "/api/v1/staff/review-queue/",
        {**API_NO_KEY, **API_STAFF_SESSIONS, "key_staff": OK},
        api=True,
    ),
    Row(
        "api staff case",
        "GET",
        lambda c: f"/api/v1/staff/cases/{c.reference}/",
        {**API_NO_KEY, **API_STAFF_SESSIONS, "key_staff": OK},
        api=True,
    ),
    Row(
        "api media content (evidence bytes)",
        "GET",
        lambda c: f"/api/v1/staff/media/{c.media.pk}/content/",
        {**API_NO_KEY, **API_STAFF_SESSIONS, "staff_without_permissions": FORBIDDEN, "key_staff": OK},
        check=_api_media_view_audited,
        api=True,
    ),
    Row(
        "api erasure (POST)",
        "POST",
        lambda c: f"/api/v1/customers/{c.spare.pop().pk}/erasure/",
        # Counted per role by the test (ERASERS): only these erase.
        {**API_NO_KEY, "superuser": OK, "key_staff": OK},
        data=lambda c, http, base: {"request_ref": "MATRIX-API"},
        api=True,
    ),
    Row(
        "api schema",
        "GET",
        lambda c: "/api/schema/",
        {**API_NO_KEY, **API_STAFF_SESSIONS, "key_read": OK, "key_write": OK, "key_staff": OK},
        api=True,
    ),
    Row(
        "api docs",
        "GET",
        lambda c: "/api/docs/",
        {**API_NO_KEY, **API_STAFF_SESSIONS, "key_read": OK, "key_write": OK, "key_staff": OK},
        api=True,
    ),
    Row("api unknown path", "GET", lambda c: "/api/v1/nothing-here/", {}, default=NOT_FOUND, api=True),
]
