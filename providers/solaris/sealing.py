"""Webhook subscription secrets sealed at rest (README.md here, "Secrets at rest").

A subscription's secret is what proves a delivery comes from Solaris: whoever reads it from the
database can sign a PERSON_DELETED and have a customer erased. It is kept encrypted with Fernet
(AES-128-CBC and HMAC-SHA256, from the `cryptography` library: a well-kept primitive rather than
one of ours) under the keys of the `webhook_secret_keys` option (SOLARIS_WEBHOOK_SECRET_KEYS).
MultiFernet gives rotation: the first key seals, every key opens, so a new key is put first, the
secrets are sealed again (`solaris_webhooks reseal`), and only then is the old key removed.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEYS_VARIABLE = "SOLARIS_WEBHOOK_SECRET_KEYS"


class SealBroken(Exception):
    """A sealed secret that none of the keys opens (a key removed too early, a copied database)."""


def key_from_passphrase(passphrase: str) -> str:
    """A Fernet key derived from a long random passphrase (development's SECRET_KEY): a SHA-256
    of it with a purpose label, so that the key is not the passphrase itself nor shared with
    another use of it. Only for a passphrase that is random already: no stretching is done."""
    digest = hashlib.sha256(b"kyc-desk solaris webhook secrets\x00" + passphrase.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


class SecretSeal:
    """Seals and opens secrets with the configured keys (the first one seals)."""

    def __init__(self, keys: Sequence[str]):
        self.keys = tuple(key.strip() for key in keys if key and key.strip())
        try:
            fernets = [Fernet(key.encode()) for key in self.keys]
        except (ValueError, TypeError) as broken:
            # Raised while the provider is built: the registry reports it as a start-up error.
            raise ValueError(
                f"{KEYS_VARIABLE} holds a key that is not a Fernet key (32 url-safe base64 bytes; "
                'make one with `python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"`)'
            ) from broken
        self._fernet = MultiFernet(fernets) if fernets else None

    def problems(self) -> list[str]:
        if self._fernet is None:
            return [
                f"{KEYS_VARIABLE} is empty: set it to a Fernet key, which seals the webhook "
                "subscriptions' secrets in the database"
            ]
        return []

    def seal(self, secret: str) -> str:
        if self._fernet is None:
            raise SealBroken(self.problems()[0])
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        if self._fernet is None:
            raise SealBroken(self.problems()[0])
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except (InvalidToken, ValueError) as broken:
            raise SealBroken("no key of SOLARIS_WEBHOOK_SECRET_KEYS opens this secret") from broken

    def reseal(self, sealed: str) -> str:
        """The same secret sealed with the first key (after a rotation)."""
        if self._fernet is None:
            raise SealBroken(self.problems()[0])
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except (InvalidToken, ValueError) as broken:
            raise SealBroken("no key of SOLARIS_WEBHOOK_SECRET_KEYS opens this secret") from broken
