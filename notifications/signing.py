"""Signatures of outbound events, in the Standard Webhooks format (standardwebhooks.com), so that
receivers can verify them with any of its libraries:

    webhook-id: <event id>          (the same on every try of the event: receivers deduplicate on it)
    webhook-timestamp: <unix time>  (signed too: a receiver that refuses old ones refuses replays)
    webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>"> [v1,<…> …]

The HMAC key is the bytes of the secret's base64 after `whsec_`. While a rotated secret overlaps
the new one, each is a signature of its own, space-separated (docs/api.md, "Verifying notifications").
"""

import base64
import hashlib
import hmac
import secrets as random

PREFIX = "whsec_"
SECRET_BYTES = 32


def secret_new() -> str:
    return PREFIX + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(*, msg_id: str, secrets: list[str], timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, msg_id, timestamp, body) for s in secrets),
    }
