"""The authorization matrix's vocabulary (tests/faults/test_authorization_matrix.py): outcomes,
roles (users and API keys), and what a row is."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from django.contrib.auth.models import Permission, User

from kyc.models import Customer, Media

PASSWORD = "matrix-" + secrets.token_urlsafe(12)

# Outcomes: the status a role gets (302 to the login page is "login"). 422 is Solaris's answer to a
# delivery it must never send again (providers/solaris/README.md, "Webhooks").
OK, LOGIN, FORBIDDEN, NOT_FOUND, UNAUTHORIZED, REDIRECT = "ok", "login", "403", "404", "401", "302"
UNPROCESSABLE = "422"


def make_user(name: str, *, staff=True, superuser=False, perms: Callable[[], list] | None = None) -> User:
    user = User.objects.create_user(name, password=PASSWORD, is_staff=staff, is_superuser=superuser)
    if perms:
        user.user_permissions.set(perms())
    return user


def _perms(*prefixes: str) -> Callable[[], list]:
    def pick():
        return list(
            Permission.objects.filter(content_type__app_label__in=["kyc", "webhooks"]).filter(
                codename__regex=r"^(" + "|".join(prefixes) + r")_"
            )
        )

    return pick


# The username is the role's name (the audit checks look users up by it).
ROLES: dict[str, Callable[[], User | None]] = {
    "anonymous": lambda: None,
    "staff_without_permissions": lambda: make_user("staff_without_permissions"),
    "read_only": lambda: make_user("read_only", perms=_perms("view")),
    "operator": lambda: make_user("operator", perms=_perms("view", "change")),
    "superuser": lambda: make_user("superuser", superuser=True),
    # Issue 11: a superuser who typed the password and not the second factor (the matrix's stack
    # requires it). Half signed in is not signed in: this role gets what the anonymous user gets.
    "password_only": lambda: make_user("password_only", superuser=True),
}
# Roles that sign in with the password only; every other staff role also types a TOTP code.
PASSWORD_ONLY_ROLES = {"password_only"}
# API clients: a key with one scope each, and a revoked key (it had every scope).
KEY_ROLES: dict[str, list[str]] = {
    "key_read": ["read"],
    "key_write": ["write"],
    "key_staff": ["staff"],
    "key_revoked": ["read", "write", "staff"],
}
# Their audit label, filled when the keys are made (api-key:<prefix>).
KEY_LABELS: dict[str, str] = {}
# Customers each role erases through the matrix (the admin action needs kyc.erase_customer, the
# API the same permission for a person or the `staff` scope for a key).
ERASERS = {"superuser": 2, "key_staff": 1}


@dataclass
class Case:
    """What the rows are about: a customer verified end to end, with media on disk."""

    customer: Customer
    session_pk: int
    reference: str
    media: Media
    spare: list[Customer] = field(default_factory=list)
    # The Solaris sandbox's hosted (IDnow-like) page of an identification requested there.
    solaris_hosted_path: str = ""


@dataclass
class Row:
    name: str
    method: str
    path: Callable[[Case], str]
    outcomes: dict[str, str]
    default: str = FORBIDDEN
    data: Callable[[Case, requests.Session, str], dict | bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)  # sent as they are (a webhook's)
    check: Callable[[Case, str, str], None] | None = None  # (case, role, outcome) → assert effects
    api: bool = False  # under /api/: API keys count, the body is JSON, a session sends X-CSRFToken

    def expected(self, role: str) -> str:
        if role in KEY_ROLES and not self.api:
            return self.expected("anonymous")
        if role in PASSWORD_ONLY_ROLES and role not in self.outcomes:
            return self.expected("anonymous")
        return self.outcomes.get(role, self.default)
