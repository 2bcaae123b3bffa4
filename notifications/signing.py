"""Signatures of outbound events: `KYC-Signature: t=<unix time>,v1=<hex HMAC-SHA256>`, where the HMAC
key is the endpoint's secret and the message is `<t>.` followed by the raw request body. The
timestamp is signed too, so a receiver that refuses old timestamps refuses replays (README, "Verifying
notifications")."""

import hashlib
import hmac

HEADER = "KYC-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"
