"""The notification signature: `Solaris-Webhook-Signature: sha256=<hex HMAC-SHA256(raw body,
subscription secret)>` (../README.md, "Signatures"). The sandbox signs with sha256 only."""

import hashlib
import hmac

ALGORITHM = "sha256"


def signature(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{ALGORITHM}={digest}"
