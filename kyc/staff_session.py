"""One rule for "this request comes from a staff member who finished signing in".

Every staff entry point asks it: the back-office (kyc.backoffice.site), the REST API's session
authentication and scopes (api/authentication.py, api/permissions.py, so its docs and schema too),
/metrics (kyc/metrics.py) and, through the admin site, the evidence files. A password alone is
half a sign-in when the second factor is required: such a session gets what an anonymous visitor
gets, wherever it knocks. Keeping the rule in one function means a stricter rule later reaches
every door at once.
"""

from __future__ import annotations

from django.conf import settings


def second_factor_required() -> bool:
    return settings.KYC_STAFF_2FA_REQUIRED


def second_factor_satisfied(request) -> bool:
    if not second_factor_required():
        return True
    is_verified = getattr(request.user, "is_verified", None)  # set by django_otp's middleware
    return bool(is_verified and is_verified())


def staff_password_accepted(request) -> bool:
    """The first step is done: an active staff account typed its password (2FA or not)."""
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def staff_session_complete(request) -> bool:
    """An active staff member, signed in with the password and, when required, the second factor.

    `request` is Django's HttpRequest (DRF's Request works too once authenticated: its `user` is
    the same object, carrying django-otp's `is_verified`)."""
    return staff_password_accepted(request) and second_factor_satisfied(request)
