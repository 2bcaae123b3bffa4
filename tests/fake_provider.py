"""A tiny provider for tests: the least a provider must implement, and no optional capability.

Registered through KYC_PROVIDERS in a test (tests/providers_config.with_provider), it shows that a
new provider passes through every page and API that shows a provider's sessions, and that the
optional capabilities (providers/capabilities.py) are skipped for a provider without them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from contextlib import AbstractContextManager

from providers.base import (
    CreatedSession,
    Decision,
    MediaItem,
    MediaStream,
    Provider,
    ProviderError,
    ProviderUpdate,
    Screening,
    SessionRequest,
    WebhookMalformed,
    WebhookRejected,
    WebhookRequest,
)

DOTTED = "tests.fake_provider.TinyProvider"


class TinyProvider(Provider):
    name = "tiny"
    webhook_kinds = frozenset({"events"})

    def __init__(self, *, token: str = "tiny-token", api_url: str = "https://tiny.example"):
        self.token, self.api_url = token, api_url
        self.created: list[SessionRequest] = []

    def configuration_problems(self) -> list[str]:
        return [] if self.token else ["TINY_TOKEN is empty"]

    def create_session(self, request: SessionRequest) -> CreatedSession:
        self.created.append(request)
        session_id = f"tiny-{request.reference}"
        return CreatedSession(provider_session_id=session_id, url=f"{self.api_url}/flow/{session_id}")

    def fetch_update(
        self, provider_session_id: str, *, provider_person_id: str = ""
    ) -> ProviderUpdate | None:
        return None

    def list_media(self, provider_session_id: str, *, provider_person_id: str = "") -> list[MediaItem]:
        return []

    def open_media(
        self, item: MediaItem, *, provider_person_id: str = ""
    ) -> AbstractContextManager[MediaStream]:
        raise ProviderError("tiny has no media", permanent=True)

    def authenticate_webhook(self, request: WebhookRequest) -> None:
        if request.headers.get("X-Tiny-Token") != self.token:
            raise WebhookRejected("wrong token", status_code=403)

    def webhook_dedupe_key(self, request: WebhookRequest) -> str:
        return f"tiny:{hashlib.sha256(request.body).hexdigest()}"

    def parse_webhook(self, request: WebhookRequest) -> list[ProviderUpdate]:
        try:
            data = json.loads(request.body)
            return [decision_update(data["session"], data["status"], data.get("reason", ""))]
        except (ValueError, KeyError, TypeError) as broken:
            raise WebhookMalformed(str(broken)) from None


def decision_update(provider_session_id: str, status: str, reason_code: str = "") -> ProviderUpdate:
    """A decision of the tiny provider, with a code and a reason code it has no words for."""
    return ProviderUpdate(
        provider_session_id=provider_session_id,
        dedupe_key=f"tiny:{provider_session_id}:{status}:{reason_code}",
        status=status,
        attempt_id=f"{provider_session_id}-a1",
        decision=Decision(
            status=status,
            provider_status=status.upper(),
            code=77,
            reason="Tiny says so." if reason_code else "",
            reason_code=reason_code,
            decided_at=dt.datetime.now(dt.UTC),
            person={"firstName": "SARAH", "lastName": "MORGAN"},
        ),
        raw={"session": provider_session_id, "status": status, "reason": reason_code},
    )


class ScreeningTinyProvider(TinyProvider):
    """The tiny provider with one optional capability: a person look-up that finds nothing."""

    def __init__(self, **options):
        super().__init__(**options)
        self.screened: list[str] = []

    def fetch_person_screening(self, provider_session_id: str) -> Screening | None:
        self.screened.append(provider_session_id)
        return Screening(source="tiny:person", possible_match=False)


class MatchingTinyProvider(TinyProvider):
    """The tiny provider with duplicate detection: a decision's raw `matched` names another session."""

    def matched_session_ids(self, raw: Mapping[str, object]) -> list[str]:
        matched = raw.get("matched")
        return [matched] if isinstance(matched, str) else []
