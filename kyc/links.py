"""Signed, expiring start links for the end-user flow. They carry an id, never personal data."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "kyc.flow.start"


def start_token(customer_id: int) -> str:
    return signing.dumps({"c": customer_id}, salt=SALT, compress=True)


def start_url(customer_id: int) -> str:
    return settings.KYC_PUBLIC_URL + reverse("flow:start", args=[start_token(customer_id)])


def customer_id_from_token(token: str) -> int:
    """Raises signing.BadSignature (signing.SignatureExpired for an old link)."""
    return int(signing.loads(token, salt=SALT, max_age=settings.KYC_LINK_MAX_AGE)["c"])
