"""The signature of Solaris's notifications (README.md here, "Signatures").

`Solaris-Webhook-Signature: sha256=<hex HMAC-SHA256(raw body, subscription secret)>`, checked on
the raw bytes in constant time. Solaris's Ruby example takes the algorithm from the header
(`<alg>=<hex>`), which would let a sender choose a weaker one: we accept `sha256` only, so `sha1=`,
`md5=`, a header without `=` or an empty one is a forgery like a wrong digest.
"""

from __future__ import annotations

import hashlib
import hmac
import re

HEADER = "Solaris-Webhook-Signature"
ALGORITHM = "sha256"
_WELL_FORMED = re.compile(r"sha256=[0-9a-f]{64}", re.IGNORECASE)


def signature(body: bytes, secret: str) -> str:
    """The header's value for `body` signed with `secret`."""
    return f"{ALGORITHM}={hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}"


def well_formed(header: str | None) -> bool:
    """Whether `header` could be a signature of ours at all (`sha256=` and 64 hex digits): one
    that cannot is a forgery whatever secret it names."""
    return bool(_WELL_FORMED.fullmatch((header or "").strip()))


def verify(body: bytes, header: str | None, secret: str) -> bool:
    """Whether `header` is the sha256 signature of `body` under `secret`."""
    algorithm, separator, given = (header or "").strip().partition("=")
    if not separator or algorithm.strip().lower() != ALGORITHM or not secret:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    # Bytes, not str: compare_digest refuses non-ASCII text, and a header is anyone's to choose.
    return hmac.compare_digest(expected, given.strip().lower().encode("utf-8", "replace"))
