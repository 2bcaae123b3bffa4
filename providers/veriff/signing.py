"""Veriff request, response and webhook signatures.

Two schemes, chosen by the `signature_scheme` option (VERIFF_SIGNATURE_SCHEME):
- legacy `X-SIGNATURE` = hex(SHA256(payload ‖ secret)): a plain hash of the concatenation, as in
  Veriff's older documentation, not an HMAC;
- current `X-HMAC-SIGNATURE` = hex(HMAC-SHA256(key=secret, msg=payload)).
The payload is the exact body bytes for POST/PATCH, responses and webhooks, and the id in the
path for GET requests.
"""

import hashlib
import hmac
from collections.abc import Iterable, Mapping

LEGACY = "legacy"
HMAC = "hmac"
HEADER = {LEGACY: "X-SIGNATURE", HMAC: "X-HMAC-SIGNATURE"}


def signature(payload: bytes, secret: str, scheme: str) -> str:
    if scheme == LEGACY:
        return hashlib.sha256(payload + secret.encode()).hexdigest()
    if scheme == HMAC:
        return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    raise ValueError(f"unknown Veriff signature scheme {scheme!r}")


def signature_headers(payload: bytes, api_key: str, secret: str, scheme: str) -> dict[str, str]:
    return {"X-AUTH-CLIENT": api_key, HEADER[scheme]: signature(payload, secret, scheme)}


def verify(payload: bytes, headers: Mapping[str, str], secret: str, scheme: str) -> bool:
    """Constant-time check of the scheme's header against the payload. Header lookup is
    case-insensitive when `headers` is (Django's request.headers is)."""
    given = headers.get(HEADER[scheme], "")
    return hmac.compare_digest(signature(payload, secret, scheme), given.strip().lower())


def verify_any(payload: bytes, headers: Mapping[str, str], secrets: Iterable[str], scheme: str) -> bool:
    """Whether the signature matches under any of `secrets`: during a secret rotation the current
    and the previous secret are both valid. Every secret is tried, so the time taken does not
    tell which one matched."""
    results = [verify(payload, headers, secret, scheme) for secret in secrets if secret]
    return any(results)
