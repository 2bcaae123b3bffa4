"""The authorization matrix's rows for the REST API (/api/): every role of ROLES and KEY_ROLES."""

from __future__ import annotations

from kyc.models import AuditEvent
from tests.faults.matrix import KEY_LABELS, NOT_FOUND, OK, UNAUTHORIZED, Case, Row

# --- the REST API (issue 4) ------------------------------------------------------------------
# A staff member's session needs the Django permissions that stand for the endpoint's scope
# (api/permissions.py), as in the back-office: reading needs the view permissions (a staff account
# with none reads nothing), writing needs kyc.review_case (the Analyst's and Supervisor's), and the
# evidence bytes and the erasure check their own permission on top.
API_STAFF_READERS = {
    role: OK for role in ("read_only", "operator", "analyst", "supervisor", "auditor", "superuser")
}
API_STAFF_WRITERS = {role: OK for role in ("analyst", "supervisor", "superuser")}
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
        {**API_NO_KEY, **API_STAFF_READERS, "key_read": OK},
        api=True,
    ),
    Row(
        "api customer detail",
        "GET",
        lambda c: f"/api/v1/customers/{c.customer.pk}/",
        {**API_NO_KEY, **API_STAFF_READERS, "key_read": OK},
        api=True,
    ),
    Row(
        "api verification start (POST)",
        "POST",
        lambda c: f"/api/v1/customers/{c.spare.pop().pk}/verifications/",
        {**API_NO_KEY, **API_STAFF_WRITERS, "key_write": OK},
        data=lambda c, http, base: {},
        api=True,
    ),
    Row(
        "api verification link (POST)",
        "POST",
        lambda c: f"/api/v1/customers/{c.customer.pk}/verification-links/",
        {**API_NO_KEY, **API_STAFF_WRITERS, "key_write": OK},
        data=lambda c, http, base: {},
        api=True,
    ),
    Row(
        "api staff review queue",
        "GET",
        lambda c: "/api/v1/staff/review-queue/",
        {**API_NO_KEY, **API_STAFF_READERS, "key_staff": OK},
        api=True,
    ),
    Row(
        "api staff case",
        "GET",
        lambda c: f"/api/v1/staff/cases/{c.reference}/",
        {**API_NO_KEY, **API_STAFF_READERS, "key_staff": OK},
        api=True,
    ),
    Row(
        "api media content (evidence bytes)",
        "GET",
        lambda c: f"/api/v1/staff/media/{c.media.pk}/content/",
        {**API_NO_KEY, **API_STAFF_READERS, "key_staff": OK},
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
        # The API's documentation holds no personal data: any staff member may read it.
        {
            **API_NO_KEY,
            **API_STAFF_READERS,
            "staff_without_permissions": OK,
            "key_read": OK,
            "key_write": OK,
            "key_staff": OK,
        },
        api=True,
    ),
    Row(
        "api docs",
        "GET",
        lambda c: "/api/docs/",
        # The API's documentation holds no personal data: any staff member may read it. The page
        # itself is open (it says how to sign in, issue 12); the schema it loads is not.
        {
            "anonymous": OK,
            "key_revoked": OK,
            **API_STAFF_READERS,
            "staff_without_permissions": OK,
            "key_read": OK,
            "key_write": OK,
            "key_staff": OK,
        },
        api=True,
    ),
    Row("api unknown path", "GET", lambda c: "/api/v1/nothing-here/", {}, default=NOT_FOUND, api=True),
]
