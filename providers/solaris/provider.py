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
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from providers import base
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
    WebhookMalformed,
    WebhookPing,
    WebhookRejected,
    WebhookRequest,
    WebhookUnknownSubscription,
)
from providers.solaris import normalize, signing, subscriptions
from providers.solaris.client import SolarisClient
from providers.solaris.sandbox import credentials as sandbox
from providers.solaris.sealing import SealBroken, SecretSeal

# The delivery headers (README.md here, "Webhooks").
WEBHOOK_ID = "Solaris-Webhook-Id"
SUBSCRIPTION_ID = "Solaris-Webhook-Subscription-Id"
EVENT_TYPE = "Solaris-Webhook-Event-Type"
ENTITY_ID = "Solaris-Entity-Id"
ATTEMPT = "Solaris-Webhook-Attempt"
# Solaris's ids are 32 hex digits (README.md here, "Endpoints we use"); anything far from that
# names no subscription of ours and is not worth a database look-up (nor its errors: PostgreSQL
# refuses a NUL in a query parameter).
PLAUSIBLE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
# The handshake Solaris sends when a subscription is created: empty and unsigned.
HANDSHAKE = "WEBHOOK-SUBSCRIPTION"
PERSON_KINDS = {
    subscriptions.PERSON_CHANGED: base.PERSON_CHANGED,
    subscriptions.PERSON_DELETED: base.PERSON_DELETED,
}

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
    # Every Solaris header, for processing (event type, entity) and inspection (attempt, signature:
    # a digest, useless without the subscription's secret, which is never kept in clear).
    kept_webhook_headers = (
        "Content-Type",
        "User-Agent",
        WEBHOOK_ID,
        SUBSCRIPTION_ID,
        EVENT_TYPE,
        ENTITY_ID,
        ATTEMPT,
        signing.HEADER,
    )

    def __init__(
        self,
        *,
        api_url: str,
        auth_url: str,
        client_id: str,
        client_secret: str,
        identification_method: str = "idnow",
        timeout: float = 10.0,
        webhook_secret_keys: Sequence[str] = (),
    ):
        """Built from the options of its KYC_PROVIDERS entry (config/settings.py reads them from
        SOLARIS_API_URL, SOLARIS_AUTH_URL, SOLARIS_CLIENT_ID, SOLARIS_CLIENT_SECRET,
        SOLARIS_IDENTIFICATION_METHOD, SOLARIS_TIMEOUT and SOLARIS_WEBHOOK_SECRET_KEYS): it reads no
        setting itself."""
        self.api_url = api_url.rstrip("/")
        self.auth_url = auth_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.method = identification_method
        self.timeout = timeout
        # The keys sealing the webhook subscriptions' secrets (providers/solaris/sealing.py); a
        # key that is not a Fernet key stops the build (a start-up error, providers/registry.py).
        self.seal = SecretSeal(webhook_secret_keys)

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

    def person_deleted(self, provider_person_id: str) -> bool:
        """PersonDeletionCheck: PERSON_DELETED names the person in a header the signature does not
        cover, so a captured delivery could be replayed for another person: Solaris must answer
        404 for them before we erase anything."""
        try:
            self.client.get_person(provider_person_id)
        except ProviderError as exc:
            if exc.status_code == 404:
                return True
            raise
        return False

    # -- webhooks (branch solhooks) -------------------------------------------------------------
    def authenticate_webhook(self, request: WebhookRequest) -> None:
        headers = request.headers
        if _header(headers, EVENT_TYPE) == HANDSHAKE:
            # Solaris creates a subscription only once this gets a 2xx (README.md here,
            # "Subscription"); nothing is kept or done, so it needs no signature.
            raise WebhookPing()
        signature = _header(headers, signing.HEADER)
        if not signing.well_formed(signature):
            raise WebhookRejected(f"{signing.HEADER} is missing or not sha256=<hex>")
        subscription_id = _header(headers, SUBSCRIPTION_ID)
        if not PLAUSIBLE_ID.fullmatch(subscription_id):
            raise WebhookRejected(f"{SUBSCRIPTION_ID} is missing or not an id")
        try:
            held = subscriptions.subscription_secret(subscription_id, seal=self.seal)
        except SealBroken as exc:
            # Ours to fix (a sealing key removed too early): delivered again once fixed.
            raise WebhookUnknownSubscription(str(exc)) from None
        if held is None:
            # Created at Solaris and not (yet) kept here, e.g. while `solaris_webhooks sync` stores
            # it: answered so that Solaris delivers it again (never 410, which would cancel it).
            raise WebhookUnknownSubscription(f"no secret held for subscription {subscription_id!r}")
        event_type, secret = held
        if not signing.verify(request.body, signature, secret):
            raise WebhookRejected(f"{signing.HEADER} does not match the body")
        # The headers are not signed, only the body: a delivery signed for one event type must
        # not be taken for another (a captured IDENTIFICATION replayed as a PERSON_DELETED).
        if _header(headers, EVENT_TYPE) != event_type:
            raise WebhookRejected(f"{EVENT_TYPE} is not the subscription's ({event_type})")

    def webhook_dedupe_key(self, request: WebhookRequest) -> str:
        # Solaris gives each notification an id, the same on every retry (README.md here).
        webhook_id = _header(request.headers, WEBHOOK_ID)
        if webhook_id:
            return f"solaris:{webhook_id[:150]}"
        # Never seen from Solaris; a delivery without one is still taken once, by what it says.
        what = b"\0".join(
            (
                _header(request.headers, EVENT_TYPE).encode(),
                _header(request.headers, ENTITY_ID).encode(),
                request.body,
            )
        )
        return f"solaris:sha256:{hashlib.sha256(what).hexdigest()}"

    def parse_webhook(self, request: WebhookRequest) -> list[ProviderUpdate | PersonUpdate]:
        event_type = _header(request.headers, EVENT_TYPE)
        key = self.webhook_dedupe_key(request)
        if event_type == subscriptions.IDENTIFICATION:
            return [_identification_hint(request.body, key)]
        if event_type in PERSON_KINDS:
            # The body is `{}`: the person is named by the header alone.
            person_id = _header(request.headers, ENTITY_ID)
            if not person_id:
                raise WebhookMalformed(f"{event_type} without {ENTITY_ID}")
            return [
                PersonUpdate(
                    provider_person_id=person_id[:100],
                    kind=PERSON_KINDS[event_type],
                    dedupe_key=key,
                    raw={"event_type": event_type},
                )
            ]
        # An event type we never subscribe to: it could never be processed, and 422 stops it.
        raise WebhookMalformed(f"event type {event_type[:64]!r} is not one KYC Desk subscribes to")

    # webhook_session_id: the default (the identification's id; "" for a person event).

    def webhook_subscriptions_api(self) -> subscriptions.WebhooksApi:
        """Solaris's /v1/webhooks (`solaris_webhooks`), with the client's token: one token per
        client for every call, not one per purpose."""
        return subscriptions.WebhooksApi(api_url=self.api_url, credentials=self.client.credentials)


def _header(headers: Mapping[str, str], name: str) -> str:
    """A header's value, whatever the case of its name: a request's headers are case-insensitive,
    a stored event's are a plain dict."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), "")
    return str(value).strip()


def _identification_hint(body: bytes, dedupe_key: str) -> ProviderUpdate:
    """IDENTIFICATION only says that the identification changed (README.md here, "Bodies"):
    processing reads it back (fetch_update), and that read is what is applied. Its URL is taken
    (the IDnow link, which may come after the identification's id); its status word is kept
    as the event's code, for inspection, and moves nothing."""
    try:
        identification = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise WebhookMalformed("IDENTIFICATION body is not JSON") from exc
    if not isinstance(identification, dict):
        raise WebhookMalformed("IDENTIFICATION body is not an object")
    identification_id, url, status = (identification.get(k) for k in ("id", "url", "status"))
    if not isinstance(identification_id, str) or not identification_id.strip():
        raise WebhookMalformed("IDENTIFICATION body has no id")
    hosted_url = url if isinstance(url, str) and url.startswith(("https://", "http://")) else ""
    return ProviderUpdate(
        provider_session_id=identification_id.strip()[:100],
        dedupe_key=dedupe_key,
        status=None,
        event_code=status[:64] if isinstance(status, str) else "",
        raw=identification,
        hint=True,
        hosted_url=hosted_url[:2000],
    )


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
