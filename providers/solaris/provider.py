"""Solaris behind the provider interface (its protocol: README.md here).

- sessions, media, persons, configuration: client.py (OAuth2, errors[]), normalize.py (statuses,
  documents, screening);
- webhooks: signing.py, subscriptions, the handshake.

A session here is one person identification; its provider_session_id is the identification's id
(what Solaris's notifications, the API's `provider_session_id` and the sandbox's control endpoints
name). Solaris finds an identification only under its person (/v1/persons/{person_id}/…): the
person is the customer's provider account (CreatedSession.provider_person_id, kept by kyc), which
kyc hands back with every call about the session (`provider_person_id`).
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

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
    ProviderError,
    ProviderUpdate,
    SessionRequest,
    WebhookRequest,
)
from providers.solaris import normalize
from providers.solaris.client import SolarisClient
from providers.solaris.sandbox import credentials as sandbox

# Solaris's identification languages (its POST …/identifications `language`): German or English.
LANGUAGES = {"de": "DE"}
DEFAULT_LANGUAGE = "EN"


def _need_person(provider_person_id: str, provider_session_id: str) -> str:
    if not provider_person_id:
        # No person kept for the customer (erased, or a session made before its account): nothing
        # can find the identification at Solaris, now or later.
        raise ProviderError(
            f"no Solaris person is known for identification {provider_session_id}", permanent=True
        )
    return provider_person_id


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
    sessions_under_person = True  # /v1/persons/{person_id}/identifications/{id}

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

    @cached_property
    def client(self) -> SolarisClient:
        # Built at first use, from the options __init__ kept (two threads may both build one: the
        # token they share is in the cache, not in the client).
        return SolarisClient(
            api_url=self.api_url,
            auth_url=self.auth_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            timeout=self.timeout,
        )

    # -- configuration --------------------------------------------------------------------------
    def configuration_problems(self) -> list[str]:
        # The sandbox is recognised by its path on any host (another KYC Desk may serve it) and by
        # its client, whose secret is published in the repository.
        problems = []
        for variable, url, real in (
            ("SOLARIS_API_URL", self.api_url, "https://api.solarisbank.de"),
            ("SOLARIS_AUTH_URL", self.auth_url, "https://auth.solarisbank.de"),
        ):
            if not url:
                problems.append(f"{variable} is empty: set it to Solaris's ({real})")
            elif urlsplit(url).path.rstrip("/").endswith(sandbox.BASE_PATH):
                problems.append(f"{variable} points at the KYC Desk sandbox: set it to Solaris's ({real})")
        if not self.client_id:
            problems.append("SOLARIS_CLIENT_ID is empty: set it to the client id Solaris gave you")
        elif self.client_id == sandbox.CLIENT_ID:
            problems.append(
                "SOLARIS_CLIENT_ID is the sandbox's public client: set it to the client id Solaris gave you"
            )
        if not self.client_secret:
            problems.append("SOLARIS_CLIENT_SECRET is empty: set it to the client secret Solaris gave you")
        elif self.client_secret == sandbox.CLIENT_SECRET:
            problems.append(
                "SOLARIS_CLIENT_SECRET is the sandbox's public secret: "
                "set it to the client secret Solaris gave you"
            )
        return problems

    # -- sessions -------------------------------------------------------------------------------
    def create_session(self, request: SessionRequest) -> CreatedSession:
        """The customer's Solaris person (made now unless an earlier session made it), an
        identification of that person by the configured method, and its IDnow link (PATCH
        …/request). A failure after the person was made raises: the retry makes a new person and
        identification, and the unused ones expire at Solaris."""
        person_id = request.provider_person_id
        if not person_id:
            person = self.client.create_person(_person_body(request))
            person_id = str(person.get("id") or "")
            if not person_id:
                raise ProviderError("Solaris created no person id")
        fields: dict[str, Any] = {
            "method": self.method,
            "language": LANGUAGES.get(request.language.lower()[:2], DEFAULT_LANGUAGE),
            "reference": request.reference,
        }
        if request.device_data:
            fields["device_data"] = request.device_data
        created = self.client.create_identification(person_id, fields)
        identification_id = str(created.get("id") or "")
        if not identification_id:
            raise ProviderError("Solaris created no identification id")
        requested = self.client.request_identification(
            person_id, identification_id, device_data=request.device_data
        )
        url = requested.get("url")
        return CreatedSession(
            provider_session_id=identification_id,
            url=url if isinstance(url, str) else "",
            raw=requested,
            provider_person_id=person_id,
        )

    def fetch_update(
        self, provider_session_id: str, *, provider_person_id: str = ""
    ) -> ProviderUpdate | None:
        """The identification read again: the truth behind an IDENTIFICATION notification, and
        what reconciliation asks. None while it is still `created` (nothing has happened)."""
        person_id = _need_person(provider_person_id, provider_session_id)
        identification = self.client.get_identification(person_id, provider_session_id)
        if identification.get("status") == "created":
            return None
        try:
            return normalize.update_from_identification(identification)
        except ValueError as exc:
            raise ProviderError(f"Solaris answered an unreadable identification: {exc}") from exc

    # -- media ----------------------------------------------------------------------------------
    def list_media(self, provider_session_id: str, *, provider_person_id: str = "") -> list[MediaItem]:
        """IDnow's files of the identification: the ID document's sides, the selfie, the report."""
        person_id = _need_person(provider_person_id, provider_session_id)
        documents = self.client.get_identification_documents(person_id, provider_session_id)
        return normalize.media_items(documents, provider_session_id)

    def open_media(
        self, item: MediaItem, *, provider_person_id: str = ""
    ) -> AbstractContextManager[MediaStream]:
        person_id = _need_person(provider_person_id, item.attempt_id or item.provider_media_id)
        return self.client.stream_document(person_id, item.provider_media_id)

    # -- persons --------------------------------------------------------------------------------
    def fetch_person(self, provider_person_id: str) -> PersonUpdate | None:
        """The person read again after PERSON_CHANGED: its screening (a potential match holds the
        customer for review) and its risk and vetting fields. None when Solaris has no such person
        any longer (deleted: PERSON_DELETED follows)."""
        try:
            person = self.client.get_person(provider_person_id)
        except ProviderError as exc:
            if exc.status_code == 404:
                return None
            raise
        return normalize.person_update(person, provider_person_id)

    # -- webhooks (branch solhooks) -------------------------------------------------------------
    def authenticate_webhook(self, request: WebhookRequest) -> None:
        raise NotImplementedError

    def webhook_dedupe_key(self, request: WebhookRequest) -> str:
        raise NotImplementedError

    def parse_webhook(self, request: WebhookRequest) -> list[ProviderUpdate | PersonUpdate]:
        raise NotImplementedError


def _person_body(request: SessionRequest) -> dict[str, Any]:
    """POST /v1/persons: the names and birth date we have, and our reference (the session's) so
    that a person at Solaris can be traced back to us."""
    person = request.person
    body: dict[str, Any] = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "birth_date": person.date_of_birth.isoformat() if person.date_of_birth else None,
        "nationality": person.nationality or None,
        "reference": request.reference,
    }
    return {key: value for key, value in body.items() if value}
