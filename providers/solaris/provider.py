"""Solaris behind the provider interface (its protocol: README.md here).

SKELETON (issue 14, being filled on two branches):
- sessions, media, persons, configuration: client.py, normalize.py (branch `solclient`);
- webhooks: signing.py, subscriptions, the handshake (branch `solhooks`).
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager

from providers.base import (
    ANSWER_FORGED,
    ANSWER_MALFORMED,
    ANSWER_PING,
    ANSWER_UNKNOWN_SUBSCRIPTION,
    CreatedSession,
    MediaItem,
    MediaStream,
    PersonUpdate,
    Provider,
    ProviderUpdate,
    SessionRequest,
    WebhookRequest,
)


class SolarisProvider(Provider):
    name = "solaris"
    webhook_kinds = frozenset({""})  # one delivery URL: /webhooks/solaris/
    # Solaris's answers table (README.md here): 422 is "rejected, never re-sent", right for a bad
    # signature; an unknown subscription must be re-sent (a 5xx), never 410 (which cancels it).
    webhook_answers = {
        ANSWER_FORGED: 422,
        ANSWER_MALFORMED: 422,
        ANSWER_UNKNOWN_SUBSCRIPTION: 503,
        ANSWER_PING: 200,
    }
    session_lifetime = dt.timedelta(days=7)

    def __init__(
        self,
        *,
        api_url: str,
        auth_url: str,
        client_id: str,
        client_secret: str,
        identification_method: str = "idnow",
        timeout: float = 10.0,
    ):
        """Built from the options of its KYC_PROVIDERS entry (config/settings.py reads them from
        SOLARIS_API_URL, SOLARIS_AUTH_URL, SOLARIS_CLIENT_ID, SOLARIS_CLIENT_SECRET,
        SOLARIS_IDENTIFICATION_METHOD and SOLARIS_TIMEOUT): it reads no setting itself."""
        self.api_url = api_url.rstrip("/")
        self.auth_url = auth_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.method = identification_method
        self.timeout = timeout

    # -- configuration, sessions, media, persons (branch solclient) -----------------------------
    def configuration_problems(self) -> list[str]:
        raise NotImplementedError

    def create_session(self, request: SessionRequest) -> CreatedSession:
        raise NotImplementedError

    def fetch_update(self, provider_session_id: str) -> ProviderUpdate | None:
        raise NotImplementedError

    def list_media(self, provider_session_id: str) -> list[MediaItem]:
        raise NotImplementedError

    def open_media(self, item: MediaItem) -> AbstractContextManager[MediaStream]:
        raise NotImplementedError

    # -- webhooks (branch solhooks) -------------------------------------------------------------
    def authenticate_webhook(self, request: WebhookRequest) -> None:
        raise NotImplementedError

    def webhook_dedupe_key(self, request: WebhookRequest) -> str:
        raise NotImplementedError

    def parse_webhook(self, request: WebhookRequest) -> list[ProviderUpdate | PersonUpdate]:
        raise NotImplementedError
