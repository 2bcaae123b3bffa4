"""Authorization matrix: every URL of the app × every role and an anonymous user, over HTTP to
the served app (gunicorn), and the production configuration (DEBUG off, sandbox off).

Table-driven: a new URL is one row of ROWS (what it is, how to call it, and what each role gets);
a new role is one entry of ROLES (how to make such a user). A row that names no outcome for a role
takes the row's `default`.

Roles: anonymous; an end user holding their start link (the flow's only credential); staff with
no permission; staff with every view permission (read-only, auditor-like); staff with view and
change permissions (operator-like); a superuser; a superuser who typed the password but not the
second factor (the stack requires it, as production does; every other staff role types a TOTP
code), who gets what the anonymous user gets everywhere but the code page itself. Issue 3's
Analyst, Supervisor and Auditor groups are added to ROLES by `_group_roles` when its migration is
there. The REST API's clients are roles too: an API key of each scope and a revoked one
(KEY_ROLES); outside /api/ a key is no credential, so on those rows a key role gets what the
anonymous user gets.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import uuid

import pytest
import requests
from django.contrib.auth.models import Group, User
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from api.models import ApiKey
from api.services import api_key_create, api_key_revoke
from kyc.links import start_url
from kyc.models import AuditEvent, Customer, Review, ReviewReason, VerificationSession
from kyc.services import customers as kyc_customers
from providers.solaris.sandbox import credentials as solaris_sandbox
from tests.faults.matrix import (
    ERASERS,
    KEY_LABELS,
    KEY_ROLES,
    LOGIN,
    NOT_FOUND,
    OK,
    PASSWORD,
    PASSWORD_ONLY_ROLES,
    REDIRECT,
    ROLES,
    UNAUTHORIZED,
    UNPROCESSABLE,
    Case,
    Row,
    make_user,
)
from tests.faults.matrix_api import API_ROWS
from tests.kyc.conftest import ensure_roles_and_reasons
from tests.support.veriff import EndUser, media_stored, provider_media, session_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


STAFF_READERS = {"read_only": OK, "operator": OK, "superuser": OK}
# Issue 3's roles (kyc migration 0006): all three read the cases and the evidence; supervisors and
# auditors the audit trail; auditors also webhooks and users, and export the audit trail.
CASE_READERS = {**STAFF_READERS, "analyst": OK, "supervisor": OK, "auditor": OK}
AUDIT_READERS = {**STAFF_READERS, "supervisor": OK, "auditor": OK}
# Who may work a case (kyc.review_case): the action redirects back to the case page.
CASE_WORKERS = {"analyst": REDIRECT, "supervisor": REDIRECT, "superuser": REDIRECT}


def _csrf(http: requests.Session, base: str, path: str) -> str:
    page = http.get(base + path, timeout=15)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    return match.group(1) if match else http.cookies.get("csrftoken", "")


def _form_fields(html: str) -> dict[str, str]:
    """The inputs a browser would send back from the page's form (management forms included)."""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or re.search(r'type="(submit|checkbox)"', tag):
            continue
        value = re.search(r'value="([^"]*)"', tag)
        fields[name.group(1)] = value.group(1) if value else ""
    return fields


def _change_customer(case: Case, http: requests.Session, base: str) -> dict:
    page = http.get(f"{base}/admin/kyc/customer/{case.customer.pk}/change/", timeout=15)
    fields = _form_fields(page.text) if page.status_code == 200 else {}
    fields["csrfmiddlewaretoken"] = fields.get("csrfmiddlewaretoken") or http.cookies.get("csrftoken", "")
    return {**fields, "first_name": "Changed", "last_name": "Case", "email": "m@example.org", "country": "EE"}


def _erase_action(case: Case, http: requests.Session, base: str) -> dict:
    target = case.spare.pop()
    return {
        "csrfmiddlewaretoken": _csrf(http, base, "/admin/kyc/customer/"),
        "action": "erase_personal_data",
        "_selected_action": [target.pk],
        "confirm": "yes",
        "request_ref": "MATRIX",
    }


def _media_view_audited(case: Case, role: str, outcome: str) -> None:
    """Who looked at whose passport: every view that served the bytes is in the audit trail."""
    viewed = AuditEvent.objects.filter(
        action="media.viewed", object_id=str(case.media.pk), actor__username=role
    )
    assert viewed.exists() == (outcome == OK), role


def _only_superuser_changed(case: Case, role: str, outcome: str) -> None:
    case.customer.refresh_from_db()
    changed = case.customer.first_name == "Changed"
    assert changed == (role in ("superuser", "operator")), role
    if changed:
        Customer.objects.filter(pk=case.customer.pk).update(first_name="Matrix")


def _assigned_only_to_case_workers(case: Case, role: str, outcome: str) -> None:
    session = VerificationSession.objects.select_related("assignee").get(pk=case.session_pk)
    assert (session.assignee is not None and session.assignee.username == role) == (outcome == REDIRECT), role
    VerificationSession.objects.filter(pk=case.session_pk).update(assignee=None, assigned_at=None)


def _propose_decision(case: Case, http: requests.Session, base: str) -> dict:
    return {
        "csrfmiddlewaretoken": _csrf(http, base, "/admin/"),
        "outcome": "approve",
        "reason": str(ReviewReason.objects.get(code="manual-document-check-passed").pk),
        "note": "Matrix: documents checked.",
    }


def _decided_only_by_case_workers(case: Case, role: str, outcome: str) -> None:
    decided = Review.objects.filter(session_id=case.session_pk, proposed_by__username=role).exists()
    assert decided == (outcome == REDIRECT), role


# An IDENTIFICATION notification as Solaris sends it, but for its signature and subscription.
SOLARIS_UNSIGNED_BODY = json.dumps(
    {"id": "9dfe2f4edaa67138be0c0c1cd3a7d849cidt", "status": "successful", "method": "idnow"}
).encode()
SOLARIS_UNSIGNED_HEADERS = {
    "Content-Type": "application/json",
    "Solaris-Webhook-Event-Type": "IDENTIFICATION",
    "Solaris-Webhook-Id": "matrix-unsigned",
    "Solaris-Webhook-Attempt": "1",
}


ROWS: list[Row] = [
    # --- the sign-in's second step (issue 11) -------------------------------------------------
    # The code page is for the half signed in; whoever is in already is sent on to the index.
    Row(
        "two-factor page",
        "GET",
        lambda c: "/admin/two-factor/",
        {"anonymous": LOGIN, "password_only": OK},
        default=REDIRECT,
    ),
    Row(
        "backup codes page",
        "GET",
        lambda c: "/admin/two-factor/backup-codes/",
        {"anonymous": LOGIN},
        default=OK,
    ),
    # --- health and metrics -----------------------------------------------------------------
    Row("healthz", "GET", lambda c: "/healthz", {}, default=OK),
    Row("readyz", "GET", lambda c: "/readyz", {}, default=OK),
    Row("metrics", "GET", lambda c: "/metrics", {"anonymous": UNAUTHORIZED}, default=OK),
    # --- back-office ------------------------------------------------------------------------
    Row("admin index", "GET", lambda c: "/admin/", {"anonymous": LOGIN}, default=OK),
    Row("customer list", "GET", lambda c: "/admin/kyc/customer/", {"anonymous": LOGIN, **CASE_READERS}),
    Row(
        "customer page",
        "GET",
        lambda c: f"/admin/kyc/customer/{c.customer.pk}/change/",
        {"anonymous": LOGIN, **CASE_READERS},
    ),
    Row(
        "customer edit (POST)",
        "POST",
        lambda c: f"/admin/kyc/customer/{c.customer.pk}/change/",
        {"anonymous": LOGIN, "operator": REDIRECT, "superuser": REDIRECT},
        data=_change_customer,
        check=_only_superuser_changed,
    ),
    Row(
        "customer add",
        "GET",
        lambda c: "/admin/kyc/customer/add/",
        {"anonymous": LOGIN, "superuser": OK},
    ),
    Row(
        "session list",
        "GET",
        lambda c: "/admin/kyc/verificationsession/",
        {"anonymous": LOGIN, **CASE_READERS},
    ),
    Row(
        "case page",
        "GET",
        lambda c: f"/admin/kyc/verificationsession/{c.session_pk}/change/",
        {"anonymous": LOGIN, **CASE_READERS},
    ),
    Row("media list", "GET", lambda c: "/admin/kyc/media/", {"anonymous": LOGIN, **CASE_READERS}),
    Row(
        "media content (evidence bytes)",
        "GET",
        lambda c: f"/admin/kyc/media/{c.media.pk}/content/",
        {"anonymous": LOGIN, "staff_without_permissions": NOT_FOUND, **CASE_READERS},
        check=_media_view_audited,
    ),
    Row(
        "decision list",
        "GET",
        lambda c: "/admin/kyc/providerdecision/",
        {"anonymous": LOGIN, **CASE_READERS},
    ),
    Row("audit trail", "GET", lambda c: "/admin/kyc/auditevent/", {"anonymous": LOGIN, **AUDIT_READERS}),
    Row(
        "audit export (CSV)",
        "GET",
        lambda c: "/admin/kyc/auditevent/export.csv",
        {"anonymous": LOGIN, "auditor": OK, "superuser": OK},
    ),
    # --- the review queue and case actions (issue 3) ------------------------------------------
    Row("review queue", "GET", lambda c: "/admin/kyc/case/", {"anonymous": LOGIN, **CASE_READERS}),
    Row(
        "queue case page",
        "GET",
        lambda c: f"/admin/kyc/case/{c.session_pk}/change/",
        {"anonymous": LOGIN, **CASE_READERS},
    ),
    Row("staff decisions", "GET", lambda c: "/admin/kyc/review/", {"anonymous": LOGIN, **CASE_READERS}),
    Row(
        "case: assign to me (POST)",
        "POST",
        lambda c: f"/admin/kyc/case/{c.session_pk}/do/assign-me/",
        {"anonymous": LOGIN, **CASE_WORKERS},
        data=lambda c, http, base: {"csrfmiddlewaretoken": _csrf(http, base, "/admin/")},
        check=_assigned_only_to_case_workers,
    ),
    Row(
        "case: propose a decision (POST)",
        "POST",
        lambda c: f"/admin/kyc/case/{c.session_pk}/do/propose/",
        {"anonymous": LOGIN, **CASE_WORKERS},
        data=_propose_decision,
        check=_decided_only_by_case_workers,
    ),
    Row(
        "inbound webhooks",
        "GET",
        lambda c: "/admin/webhooks/inboundevent/",
        {"anonymous": LOGIN, **STAFF_READERS, "auditor": OK},
    ),
    Row(
        "user admin",
        "GET",
        lambda c: "/admin/auth/user/",
        {"anonymous": LOGIN, "superuser": OK, "auditor": OK},
    ),
    Row(
        "erase action (POST)",
        "POST",
        lambda c: "/admin/kyc/customer/",
        # Everyone with the list and some action is sent back to it (an action they may not use
        # is "no action"); with no action at all, the list is shown again. Only the erase
        # permission (the superuser's here) erases: counted per role by the test.
        {
            "anonymous": LOGIN,
            "read_only": OK,
            "operator": OK,
            "analyst": REDIRECT,
            "supervisor": REDIRECT,
            "auditor": OK,
            "superuser": REDIRECT,
        },
        data=_erase_action,
    ),
    # --- evidence is never under a public URL -----------------------------------------------
    Row("media file by URL", "GET", lambda c: f"/media/{c.media.file.name}", {}, default=NOT_FOUND),
    Row("media folder by URL", "GET", lambda c: f"/{c.media.file.name}", {}, default=NOT_FOUND),
    # --- end-user flow: the signed link and the session's random reference are the credentials -
    Row(
        "flow start link",
        "GET",
        lambda c: _path(start_url(c.customer.pk)),
        {},
        default=OK,
    ),
    Row("flow forged link", "GET", lambda c: "/verify/start/not-a-signed-token/", {}, default=NOT_FOUND),
    Row("flow status", "GET", lambda c: f"/verify/s/{c.reference}/status/", {}, default=OK),
    Row("flow return page", "GET", lambda c: f"/verify/return/{c.reference}/", {}, default=OK),
    Row("flow unknown session", "GET", lambda c: f"/verify/s/{uuid.uuid4()}/status/", {}, default=NOT_FOUND),
    # --- webhooks: signed by the provider, whoever is logged in -----------------------------
    Row("webhook unsigned", "POST", lambda c: "/webhooks/veriff/decision/", {}, default=UNAUTHORIZED),
    Row("webhook unknown provider", "POST", lambda c: "/webhooks/nobody/decision/", {}, default=NOT_FOUND),
    # Solaris: a delivery without its signature is answered 422, which Solaris never sends again
    # (providers/solaris/README.md, "Webhooks"); a staff sign-in changes nothing.
    Row(
        "solaris webhook unsigned",
        "POST",
        lambda c: "/webhooks/solaris/",
        {},
        default=UNPROCESSABLE,
        data=lambda c, http, base: SOLARIS_UNSIGNED_BODY,
        headers=SOLARIS_UNSIGNED_HEADERS,
    ),
    # --- the sandbox (development only: see the production test below) ----------------------
    Row("sandbox control", "GET", lambda c: "/sandbox/veriff/control/webhooks", {}, default=OK),
    Row(
        "sandbox API unsigned",
        "GET",
        lambda c: "/sandbox/veriff/v1/sessions/x/decision",
        {},
        default=UNAUTHORIZED,
    ),
    Row("solaris sandbox control", "GET", lambda c: "/sandbox/solaris/control/deliveries", {}, default=OK),
    # Solaris's API wants a bearer token from its /oauth2/token, whoever is signed in here.
    Row(
        "solaris sandbox API without token",
        "GET",
        lambda c: "/sandbox/solaris/v1/persons/x",
        {},
        default=UNAUTHORIZED,
    ),
    Row("solaris sandbox hosted page", "GET", lambda c: c.solaris_hosted_path, {}, default=OK),
    *API_ROWS,
]


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _outcome(response: requests.Response) -> str:
    if response.status_code in (301, 302):
        location = response.headers.get("Location", "")
        return LOGIN if "/admin/login/" in location else REDIRECT
    if 200 <= response.status_code < 300:
        return OK
    return str(response.status_code)


def _group_roles() -> None:
    """Issue 3's roles, once its migration has created the groups."""
    for group in Group.objects.filter(name__in=["Analyst", "Supervisor", "Auditor"]):
        ROLES.setdefault(group.name.lower(), lambda g=group: _in_group(g))


def _api_key(role: str) -> str:
    key, raw = api_key_create(name=f"matrix {role}", scopes=KEY_ROLES[role])
    if role == "key_revoked":
        api_key_revoke(api_key=key)
    KEY_LABELS[role] = ApiKey.objects.get(pk=key.pk).actor_label
    return raw


def _in_group(group: Group) -> User:
    user = make_user(group.name.lower())
    user.groups.add(group)
    return user


def _login(base: str, user: User, role: str) -> requests.Session:
    """The password, then (but for PASSWORD_ONLY_ROLES) a TOTP code from a device made for them."""
    http = requests.Session()
    token = _csrf(http, base, "/admin/login/")
    response = http.post(
        f"{base}/admin/login/?next=/admin/",
        data={"username": user.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/admin/login/"},
        allow_redirects=False,
        timeout=15,
    )
    assert response.status_code == 302, f"{user.username} could not log in"
    if role in PASSWORD_ONLY_ROLES:
        return http
    device = TOTPDevice.objects.create(user=user, name="matrix", confirmed=True)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    response = http.post(
        f"{base}/admin/two-factor/",
        data={
            "token": f"{code:06d}",
            "next": "/admin/",
            "csrfmiddlewaretoken": _csrf(http, base, "/admin/two-factor/"),
        },
        headers={"Referer": f"{base}/admin/two-factor/"},
        allow_redirects=False,
        timeout=15,
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/", (
        f"{user.username} could not type the second factor"
    )
    return http


@pytest.fixture
def stack(start_stack):
    # The second factor required, as in production: a staff role is a full sign-in, and
    # PASSWORD_ONLY_ROLES are the half sign-ins issue 11 found open doors for.
    # Every role posts one refused delivery per webhook row, all from this address: more than the
    # default allowance before 429 (KYC_WEBHOOK_REJECTED_PER_ADDRESS), which is not what is tested.
    return start_stack(KYC_STAFF_2FA_REQUIRED="true", KYC_WEBHOOK_REJECTED_PER_ADDRESS="1000")


@pytest.fixture
def case(stack) -> Case:
    customer = kyc_customers.customer_create(
        external_ref="MATRIX-1", first_name="Matrix", last_name="Case", email="m@example.org", country="EE"
    )
    with requests.Session() as http:
        end_user = EndUser(http)
        session = end_user.start(customer.pk)
        end_user.choose(end_user.wait_for_hosted_url(session), "approve")
    session = session_in(session.pk, "approved")
    [media, *_] = media_stored(
        session, {m.provider_media_id for m in provider_media(session.provider_session_id)}
    )
    spare = [
        kyc_customers.customer_create(external_ref=f"MATRIX-SPARE-{i}", first_name="Spare") for i in range(40)
    ]
    return Case(
        customer=customer,
        session_pk=session.pk,
        reference=str(session.reference),
        media=media,
        spare=spare,
        solaris_hosted_path=_path(_solaris_identification_url(stack.base_url)),
    )


def _solaris_identification_url(base: str) -> str:
    """An identification requested at the Solaris sandbox as a partner does (token, person,
    identification, request): its `url` is the hosted page the end user is sent to."""
    api = f"{base}{solaris_sandbox.BASE_PATH}"
    basic = base64.b64encode(f"{solaris_sandbox.CLIENT_ID}:{solaris_sandbox.CLIENT_SECRET}".encode()).decode()
    with requests.Session() as http:
        token = http.post(
            f"{api}/oauth2/token",
            data={"grant_type": "client_credentials", "scope": "partners"},
            headers={"Authorization": f"Basic {basic}"},
            timeout=15,
        )
        token.raise_for_status()
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        person = http.post(f"{api}/v1/persons", json={"first_name": "Matrix", "last_name": "Case"}, timeout=9)
        person.raise_for_status()
        identifications = f"{api}/v1/persons/{person.json()['id']}/identifications"
        created = http.post(identifications, json={"method": "idnow", "reference": "MATRIX-1"}, timeout=15)
        created.raise_for_status()
        requested = http.patch(f"{identifications}/{created.json()['id']}/request", json={}, timeout=15)
        requested.raise_for_status()
        return requested.json()["url"]


def test_every_url_for_every_role(stack, case):
    # The roles and reasons come from a data migration, which an earlier test's flush emptied.
    ensure_roles_and_reasons()
    _group_roles()
    failures = []
    for role, make in [*ROLES.items(), *((role, None) for role in KEY_ROLES)]:
        erased_before = Customer.objects.filter(erased_at__isnull=False).count()
        user = make() if make else None
        http = _login(stack.base_url, user, role) if user else requests.Session()
        if role in KEY_ROLES:
            http.headers["Authorization"] = f"Api-Key {_api_key(role)}"
        for row in ROWS:
            data = row.data(case, http, stack.base_url) if row.data else None
            headers = {"Referer": stack.base_url + "/admin/"} if row.method == "POST" else {}
            headers.update(row.headers)
            if row.api and row.method == "POST":
                headers["X-CSRFToken"] = http.cookies.get("csrftoken", "")
            response = http.request(
                row.method,
                stack.base_url + row.path(case),
                **({"json": data} if row.api else {"data": data}),
                headers=headers,
                allow_redirects=False,
                timeout=30,
            )
            got = _outcome(response)
            if got != row.expected(role):
                failures.append(f"{role:28} {row.name:32} expected {row.expected(role)}, got {got}")
            elif row.check:
                row.check(case, role, got)
        erased = Customer.objects.filter(erased_at__isnull=False).count() - erased_before
        if erased != ERASERS.get(role, 0):
            failures.append(f"{role:28} {'erase action and API':32} erased {erased} customer(s)")
    assert failures == [], "\n" + "\n".join(failures)


PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "127.0.0.1",
    "KYC_SANDBOX_ENABLED": "false",
    "KYC_ALLOW_SANDBOX_PROVIDERS": "false",
    "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback; TLS is the proxy's in production
    "VERIFF_API_URL": "https://stationapi.veriff.invalid/v1",  # never called here
    "VERIFF_API_KEY": "0b5a1c9e-6c3d-4c57-9a0e-3c1b2d4e5f60",
    "VERIFF_API_SECRET": "production-test-secret",
    # Solaris enabled beside Veriff, on its real hosts (never called here).
    "KYC_ENABLED_PROVIDERS": "veriff,solaris",
    "SOLARIS_API_URL": "https://api.solarisbank.invalid",
    "SOLARIS_AUTH_URL": "https://auth.solarisbank.invalid",
    "SOLARIS_CLIENT_ID": "production-test-client",
    "SOLARIS_CLIENT_SECRET": "production-test-client-secret",
    "SOLARIS_WEBHOOK_SECRET_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),  # a Fernet key
}

PRODUCTION_ROWS = [
    *[
        (f"sandbox {p}", "GET", f"/sandbox/veriff/{p}", NOT_FOUND)
        for p in ("control/webhooks", "control/faults", "v/anything", "v1/sessions/x/decision")
    ],
    ("sandbox control POST", "POST", "/sandbox/veriff/control/sweep", NOT_FOUND),
    *[
        (f"solaris sandbox {p}", "GET", f"/sandbox/solaris/{p}", NOT_FOUND)
        for p in ("control/deliveries", "control/tokens", "v1/persons/x", "idnow/identifications/x")
    ],
    ("solaris sandbox token", "POST", "/sandbox/solaris/oauth2/token", NOT_FOUND),
    ("solaris sandbox control POST", "POST", "/sandbox/solaris/control/tokens/expire", NOT_FOUND),
    ("admin", "GET", "/admin/", LOGIN),
    ("metrics", "GET", "/metrics", UNAUTHORIZED),
    ("healthz", "GET", "/healthz", OK),
    ("webhook unsigned", "POST", "/webhooks/veriff/decision/", UNAUTHORIZED),
    ("solaris webhook unsigned", "POST", "/webhooks/solaris/", UNPROCESSABLE),
    ("media by URL", "GET", "/media/evidence/x.jpg", NOT_FOUND),
    ("api customers", "GET", "/api/v1/customers/", UNAUTHORIZED),
    ("api erasure", "POST", "/api/v1/customers/1/erasure/", UNAUTHORIZED),
    ("api schema", "GET", "/api/schema/", UNAUTHORIZED),
    ("api docs", "GET", "/api/docs/", OK),  # the page only: it says how to sign in (issue 12)
]


def test_in_production_the_sandbox_is_not_mounted_and_nothing_opens_without_credentials(start_stack):
    stack = start_stack(**PRODUCTION_ENV)
    failures = []
    for name, method, path, expected in PRODUCTION_ROWS:
        solaris = "solaris webhook" in name
        body, headers = (SOLARIS_UNSIGNED_BODY, SOLARIS_UNSIGNED_HEADERS) if solaris else (None, {})
        response = requests.request(
            method, stack.base_url + path, data=body, headers=headers, allow_redirects=False, timeout=15
        )
        if _outcome(response) != expected:
            failures.append(f"{name}: expected {expected}, got {_outcome(response)}")
        assert "Content-Security-Policy" in response.headers
    assert failures == []
