"""Veriff behind the provider interface (its protocol: README.md here, client.py, signing.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy as _

from providers.base import (
    CreatedSession,
    MediaItem,
    MediaStream,
    Provider,
    ProviderError,
    ProviderUpdate,
    Screening,
    SessionRequest,
    WebhookRejected,
    WebhookRequest,
)
from providers.veriff import normalize, signing
from providers.veriff.client import VeriffClient
from providers.veriff.sandbox import credentials as sandbox

# What the end user is told for each of Veriff's resubmission reason codes (the 2xx of
# normalize.REASON_CODES): about photos and documents, which the person can fix.
RESUBMISSION_MESSAGES = {
    "201": _("Some photos or the video were missing. Please take all the photos asked for."),
    "202": _("Your face was not clearly visible. Find good light and look straight at the camera."),
    "203": _("The whole document was not visible. Make sure all four corners are in the photo."),
    "204": _("The photos were not sharp enough. Hold still, use good light and avoid glare."),
    "205": _("The document looked damaged. Please use an undamaged document."),
    "206": _("This type of document is not accepted. Please use a passport, ID card or driving licence."),
    "207": _("The document has expired. Please use a valid document."),
}


class VeriffProvider(Provider):
    name = "veriff"
    # "watchlist": the PEP / sanctions / adverse-media screening webhook (README.md here).
    webhook_kinds = frozenset({"decision", "events", "watchlist"})
    session_lifetime = dt.timedelta(days=7)  # Veriff: "Sessions expire after 7 days"
    # The signature headers, kept for inspection; the API key only as a fingerprint.
    kept_webhook_headers = ("Content-Type", "User-Agent", "X-SIGNATURE", "X-HMAC-SIGNATURE")
    fingerprinted_webhook_headers = ("X-AUTH-CLIENT", "Authorization")

    def __init__(
        self,
        *,
        api_url: str,
        api_key: str,
        api_secret: str,
        previous_secrets: Sequence[str] = (),
        signature_scheme: str = signing.HMAC,
        timeout: float = 10.0,
    ):
        """Built from the options of its KYC_PROVIDERS entry (config/settings.py reads them from
        VERIFF_API_URL, VERIFF_API_KEY, VERIFF_API_SECRET, VERIFF_API_SECRETS_PREVIOUS,
        VERIFF_SIGNATURE_SCHEME and VERIFF_TIMEOUT): it reads no setting itself."""
        if signature_scheme not in signing.HEADER:
            raise ValueError(f"signature_scheme must be 'hmac' or 'legacy', not {signature_scheme!r}")
        self.api_key = api_key
        # Requests are signed with the current secret; webhooks and responses are accepted under
        # it or a previous one, so that a rotation loses no delivery (README, "Operations").
        self.secret = api_secret
        self.secrets = (self.secret, *(s for s in previous_secrets if s and s != self.secret))
        self.scheme = signature_scheme
        self.base_url = api_url.rstrip("/")
        self.client = VeriffClient(
            base_url=self.base_url,
            api_key=self.api_key,
            secret=self.secret,
            accepted_secrets=self.secrets,
            scheme=self.scheme,
            timeout=timeout,
        )

    # -- configuration --------------------------------------------------------------------------
    def configuration_problems(self) -> list[str]:
        # The sandbox is recognised by its path on any host (it may be served by another KYC Desk)
        # and by its credentials, which are published in the repository: a webhook signed with
        # them proves nothing.
        problems = []
        if not self.base_url:
            problems.append(
                "VERIFF_API_URL is empty: set it to Veriff's API (https://stationapi.veriff.com/v1)"
            )
        elif urlsplit(self.base_url).path.rstrip("/").endswith(sandbox.API_PATH):
            problems.append(
                "VERIFF_API_URL points at the KYC Desk sandbox: set it to Veriff's API "
                "(https://stationapi.veriff.com/v1)"
            )
        if not self.api_key:
            problems.append("VERIFF_API_KEY is empty: set it to your Veriff integration's API key")
        elif self.api_key.lower() == sandbox.API_KEY:
            problems.append(
                "VERIFF_API_KEY is the sandbox's public key: set it to your Veriff integration's API key"
            )
        if not self.secret:
            problems.append("VERIFF_API_SECRET is empty: set it to your Veriff integration's shared secret")
        elif sandbox.API_SECRET in self.secrets:
            problems.append(
                "VERIFF_API_SECRET or VERIFF_API_SECRETS_PREVIOUS holds the sandbox's public secret: "
                "set VERIFF_API_SECRET to your Veriff integration's shared secret"
            )
        return problems

    # -- sessions -------------------------------------------------------------------------------
    def create_session(self, request: SessionRequest) -> CreatedSession:
        verification: dict[str, Any] = {
            # Veriff's `callback` is the browser's return page; its webhooks go to the URLs set
            # in its station, not per session (README.md here).
            "callback": request.return_url,
            "vendorData": request.reference,
            "lang": request.language,
            # Required by an older version of Veriff's API (1201 when over an hour old), harmless today.
            "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        person = {
            "firstName": request.person.first_name,
            "lastName": request.person.last_name,
            "idNumber": request.person.id_number,
            "dateOfBirth": request.person.date_of_birth.isoformat() if request.person.date_of_birth else "",
        }
        person = {k: v for k, v in person.items() if v}
        if person:
            verification["person"] = person
        if request.document:
            document = {
                "type": request.document.type,
                "number": request.document.number,
                "country": request.document.country,
            }
            document = {k: v for k, v in document.items() if v}
            if document:
                verification["document"] = document
        data = self.client.create_session(verification)
        created = data.get("verification") or {}
        if not created.get("id") or not created.get("url"):
            raise ProviderError("Veriff created no session id or url", permanent=False)
        return CreatedSession(provider_session_id=str(created["id"]), url=str(created["url"]), raw=data)

    def fetch_update(
        self, provider_session_id: str, *, provider_person_id: str = ""
    ) -> ProviderUpdate | None:
        data = self.client.get_decision(provider_session_id)
        verification = data.get("verification")
        if not verification:
            return None  # "verification": null until a decision exists (Veriff, GET /decision)
        return normalize.decision_from_verification(verification, data)

    def fetch_person_screening(self, provider_session_id: str) -> Screening | None:
        """The person record's `pepSanctionMatches` (Veriff, GET /sessions/{id}/person): one call."""
        return normalize.person_screening(self.client.get_person(provider_session_id))

    # -- media ----------------------------------------------------------------------------------
    def list_media(self, provider_session_id: str, *, provider_person_id: str = "") -> list[MediaItem]:
        """Media of every attempt, not only the last (a resubmitted session has several)."""
        attempts = self.client.get_attempts(provider_session_id).get("verifications") or []
        items: list[MediaItem] = []
        seen: set[str] = set()
        for attempt in attempts:
            attempt_id = str(attempt.get("id") or "")
            if not attempt_id:
                continue
            for item in normalize.media_items(self.client.get_attempt_media(attempt_id), attempt_id):
                if item.provider_media_id not in seen:
                    seen.add(item.provider_media_id)
                    items.append(item)
        # Sessions may list media the attempts do not (older integrations): take those too.
        for item in normalize.media_items(self.client.get_session_media(provider_session_id)):
            if item.provider_media_id not in seen:
                seen.add(item.provider_media_id)
                items.append(item)
        return items

    def open_media(
        self, item: MediaItem, *, provider_person_id: str = ""
    ) -> AbstractContextManager[MediaStream]:
        return self.client.stream_media(item.provider_media_id)

    # -- webhooks -------------------------------------------------------------------------------
    def authenticate_webhook(self, request: WebhookRequest) -> None:
        # Veriff's "Webhook security": check X-AUTH-CLIENT, then the signature over the raw body,
        # both in constant time, before anything is parsed.
        headers, body = request.headers, request.body
        if not hmac.compare_digest(headers.get("X-AUTH-CLIENT", "").strip().encode(), self.api_key.encode()):
            raise WebhookRejected("X-AUTH-CLIENT does not match our API key", status_code=401)
        if not signing.verify_any(body, headers, self.secrets, self.scheme):
            raise WebhookRejected(f"{signing.HEADER[self.scheme]} does not match the body", status_code=401)

    def webhook_dedupe_key(self, request: WebhookRequest) -> str:
        # Veriff sends no delivery id; a retry carries the same bytes, so the bytes are the key.
        return f"veriff:{hashlib.sha256(request.body).hexdigest()}"

    def parse_webhook(self, request: WebhookRequest) -> list[ProviderUpdate]:
        if request.kind == "watchlist":
            return [normalize.watchlist_update(request.body)]
        return [normalize.parse_delivery(request.body)]

    # -- presentation ---------------------------------------------------------------------------
    @staticmethod
    def explain_code(code: int | None) -> str:
        return normalize.DECISION_CODES.get(code, "") if code is not None else ""

    @staticmethod
    def explain_reason(reason_code: str) -> str:
        return normalize.REASON_CODES.get(reason_code, "")

    @staticmethod
    def resubmission_message(reason_code: str) -> str:
        return RESUBMISSION_MESSAGES.get(str(reason_code), "")

    # -- optional capabilities (providers/capabilities.py) -----------------------------------------
    def matched_session_ids(self, raw: Mapping[str, Any]) -> list[str]:
        # A decision's `verification.biometricAuthentication.matchedSessionId`: Veriff found the
        # same face on that other session of ours.
        verification = raw.get("verification") if isinstance(raw, Mapping) else None
        biometric = verification.get("biometricAuthentication") if isinstance(verification, Mapping) else None
        matched = biometric.get("matchedSessionId") if isinstance(biometric, Mapping) else None
        return [matched] if isinstance(matched, str) and matched else []

    def decline_reason_kind(self, reason_code: str) -> str:
        return normalize.DECLINE_KINDS.get(str(reason_code), "")
