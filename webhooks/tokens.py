"""The per-session secret a provider's notifications carry (SessionRequest.notification_token).

ShareID's callback has no signature: its only authenticity is the URL we gave it; Signicat sends
back, verbatim, an Authorization value we chose. Either way the secret is one per session, so
that a leaked one opens one session's notifications, no more.

Derived, not stored: token = "<session reference>.<HMAC(SECRET_KEY, provider + reference)>". The
store checks it on the raw request with no database read (the receiving path reads nothing before
it stores), the provider package needs no key and no model of ours, and a token is never kept in
clear anywhere. Rotating SECRET_KEY keeps the old tokens valid while the old key is in
SECRET_KEY_FALLBACKS, as for Django's own signatures.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "kycdesk.webhooks.notification-token"


def _mac(provider: str, reference: str, secret: str) -> str:
    return salted_hmac(SALT, f"{provider}:{reference}", secret=secret, algorithm="sha256").hexdigest()[:40]


def notification_token_make(*, provider: str, reference: str) -> str:
    """The token of one session at one provider (its reference is ours, not secret)."""
    return f"{reference}.{_mac(provider, reference, settings.SECRET_KEY)}"


def notification_token_reference(*, provider: str, token: str) -> str:
    """The session reference `token` was made for at `provider`; "" when it is not one of ours."""
    reference, _, mac = (token or "").rpartition(".")
    if not reference or not mac:
        return ""
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        if constant_time_compare(_mac(provider, reference, secret), mac):
            return reference
    return ""
