"""Small fake providers, each shaped like one of the protocols the interface must carry (see
providers/base.py): a pull-only provider with a query-token callback that is only a hint, launched
afresh at each visit and delivering its images inline (ShareID's shape); a provider of signed
webhooks with person-level events and a hosted URL that comes late (Solaris's shape); one whose
media come as one ZIP archive (Signicat's shape). They keep what they were asked in module-level
lists that tests read and script."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import json
from contextlib import contextmanager

from providers import base
from providers.base import (
    CreatedSession,
    Decision,
    Launch,
    MediaItem,
    PersonUpdate,
    Provider,
    ProviderUpdate,
    WebhookMalformed,
    WebhookPing,
    WebhookRejected,
    WebhookRequest,
    WebhookUnknownSubscription,
)

# What each fake was asked, and what the pull fake answers next (tests fill and read these).
CREATED: list[base.SessionRequest] = []
FETCH_ANSWERS: list = []  # ProviderUpdate | None | Exception, answered in order
FETCHED: list[str] = []
LAUNCHES: list[str] = []
LAUNCH_REQUESTS: list[base.SessionRequest | None] = []
LISTED: list[str] = []  # the sessions whose media listing the pull fake was asked for
PERSONS: dict[str, PersonUpdate] = {}
ARCHIVE: dict[str, bytes] = {}  # provider session id -> the ZIP's bytes

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def use_providers(settings, providers: dict[str, str]) -> None:
    """Register providers by name -> dotted path (no options), beside the configured ones (the one
    place a test registers a provider: its shape follows KYC_PROVIDERS')."""
    settings.KYC_PROVIDERS = {
        **settings.KYC_PROVIDERS,
        **{name: (path, {}) for name, path in providers.items()},
    }
    for kept in (CREATED, FETCH_ANSWERS, FETCHED, LAUNCHES, LAUNCH_REQUESTS, LISTED):
        kept.clear()
    PERSONS.clear()
    ARCHIVE.clear()


def approval(provider_session_id: str, *, media: tuple[MediaItem, ...] = ()) -> ProviderUpdate:
    return ProviderUpdate(
        provider_session_id=provider_session_id,
        dedupe_key=f"decision:{provider_session_id}",
        status=base.APPROVED,
        decision=Decision(status=base.APPROVED, provider_status="accepted"),
        media=media,
    )


def decision(provider_session_id: str, status: str, *, reason_code: str = "") -> ProviderUpdate:
    return ProviderUpdate(
        provider_session_id=provider_session_id,
        dedupe_key=f"decision:{provider_session_id}:{status}",
        status=status,
        decision=Decision(status=status, provider_status=status, reason_code=reason_code),
    )


def inline(provider_media_id: str, content: bytes, context: str = "document-front") -> MediaItem:
    """An image as ShareID's result carries it (base64 in the JSON, decoded by the provider)."""
    return MediaItem(provider_media_id, context, source=base.MEDIA_INLINE, content=content)


class _Fake(Provider):
    webhook_kinds = frozenset({""})

    def configuration_problems(self) -> list[str]:
        return []

    def create_session(self, request: base.SessionRequest) -> CreatedSession:
        CREATED.append(request)
        return CreatedSession(provider_session_id=f"{self.name}-{request.reference}", url="")

    def fetch_update(self, provider_session_id: str, *, provider_person_id: str = ""):
        FETCHED.append(provider_session_id)
        answer = FETCH_ANSWERS.pop(0) if FETCH_ANSWERS else None
        if isinstance(answer, Exception):
            raise answer
        return answer

    def list_media(self, provider_session_id: str, *, provider_person_id: str = "") -> list[MediaItem]:
        return []

    def open_media(self, item: MediaItem, *, provider_person_id: str = ""):
        raise base.ProviderError("no downloads here", permanent=True)

    def authenticate_webhook(self, request: WebhookRequest) -> None:
        return None

    def webhook_dedupe_key(self, request: WebhookRequest) -> str:
        return f"{self.name}:{hashlib.sha256(request.body).hexdigest()}"

    def parse_webhook(self, request: WebhookRequest):
        try:
            return [
                ProviderUpdate(provider_session_id=json.loads(request.body)["id"], dedupe_key="", status=None)
            ]
        except (ValueError, KeyError) as exc:
            raise WebhookMalformed("not a notification") from exc


class PullFake(_Fake):
    """ShareID's shape: polled (never more often than every 5 s), its callback authenticated only
    by the token in the URL we gave it and only a hint, a single-use launch per visit, images
    inline in the result."""

    name = "pullfake"
    poll_interval = dt.timedelta(seconds=5)
    launch_per_visit = True
    max_webhook_body = 12 * 2**20  # its callback carries images

    def launch(
        self,
        provider_session_id: str,
        *,
        stored_url: str = "",
        provider_person_id: str = "",
        request: base.SessionRequest | None = None,
    ) -> Launch:
        """A single-use token that comes only with a new session at the provider (ShareID's new
        onboarding, with its own applicant id)."""
        LAUNCHES.append(provider_session_id)
        LAUNCH_REQUESTS.append(request)
        n = len(LAUNCHES)
        new_id = f"{self.name}-{request.reference}-{n}" if request is not None else ""
        return Launch(url=f"https://pull.example/sdk?token=t{n}", provider_session_id=new_id)

    def notification_token(self, request: WebhookRequest) -> str:
        return request.query.get("token", "")

    def webhook_session_id(self, request: WebhookRequest) -> str:
        # Read on the request path: its id only, no image decoded there.
        try:
            return str(json.loads(request.body)["id"])
        except (ValueError, KeyError, TypeError):
            return ""

    def parse_webhook(self, request: WebhookRequest):
        """A hint, whatever the body claims, with the images it carries ({"images": {id: base64}})."""
        (update,) = super().parse_webhook(request)
        images = json.loads(request.body).get("images") or {}
        media = tuple(inline(name, base64.b64decode(data)) for name, data in images.items())
        return [
            ProviderUpdate(update.provider_session_id, dedupe_key="", status=None, hint=True, media=media)
        ]

    def list_media(self, provider_session_id: str, *, provider_person_id: str = "") -> list[MediaItem]:
        LISTED.append(provider_session_id)
        return [
            MediaItem("doc_front", "document-front", source=base.MEDIA_INLINE, content=PNG + b"front"),
            MediaItem("face_face", "face", source=base.MEDIA_INLINE, content=PNG + b"face"),
        ]


class HintFake(_Fake):
    """A provider whose notifications are hints but which is not polled (Signicat's shape): a hint
    fetches the result at once."""

    name = "hintfake"

    def parse_webhook(self, request: WebhookRequest):
        (update,) = super().parse_webhook(request)
        return [ProviderUpdate(update.provider_session_id, dedupe_key="", status=None, hint=True)]


class PersonFake(_Fake):
    """Solaris's shape: signed webhooks on one URL, one secret per subscription, 422 to a forgery
    (it stops the retries), a subscription ping, facts about a person, a person made before the
    first session, and the hosted URL delivered after the session id."""

    name = "personfake"
    secrets = {"sub-1": b"secret-1"}
    kept_webhook_headers = ("Content-Type", "Fake-Event", "Fake-Entity")
    fingerprinted_webhook_headers = ("Fake-Signature",)
    webhook_answers = {**Provider.webhook_answers, base.ANSWER_FORGED: 422}

    def create_session(self, request: base.SessionRequest) -> CreatedSession:
        created = super().create_session(request)
        person = request.provider_person_id or f"person-{request.reference}"
        return CreatedSession(created.provider_session_id, url="", provider_person_id=person)

    @staticmethod
    def sign(body: bytes, secret: bytes = b"secret-1") -> str:
        return hmac.new(secret, body, hashlib.sha256).hexdigest()

    def authenticate_webhook(self, request: WebhookRequest) -> None:
        if request.headers.get("Fake-Event") == "PING":
            raise WebhookPing()
        secret = self.secrets.get(request.headers.get("Fake-Subscription", ""))
        if secret is None:
            raise WebhookUnknownSubscription("no secret for this subscription")
        if not hmac.compare_digest(
            self.sign(request.body, secret), request.headers.get("Fake-Signature", "")
        ):
            raise WebhookRejected("signature does not match")

    def parse_webhook(self, request: WebhookRequest):
        event = request.headers.get("Fake-Event", "")
        if event in ("PERSON_CHANGED", "PERSON_DELETED"):
            kind = base.PERSON_CHANGED if event == "PERSON_CHANGED" else base.PERSON_DELETED
            key = hashlib.sha256(request.body + event.encode()).hexdigest()
            return [PersonUpdate(request.headers["Fake-Entity"], kind=kind, dedupe_key=key)]
        data = json.loads(request.body)
        return [
            ProviderUpdate(
                data["id"], dedupe_key=f"idt:{data['id']}", status=None, hosted_url=data.get("url", "")
            )
        ]

    def fetch_person(self, provider_person_id: str) -> PersonUpdate | None:
        return PERSONS.get(provider_person_id)


class ArchiveFake(_Fake):
    """Signicat's shape for media: the session's files in one ZIP archive."""

    name = "archivefake"

    def list_media(self, provider_session_id: str, *, provider_person_id: str = "") -> list[MediaItem]:
        return [
            MediaItem("front.png", "document-front", source=base.MEDIA_ARCHIVE),
            MediaItem("selfie.png", "face", source=base.MEDIA_ARCHIVE),
        ]

    @contextmanager
    def open_media_archive(self, provider_session_id: str):
        yield io.BytesIO(ARCHIVE[provider_session_id])


FAKES = {
    "pullfake": "tests.providers.fakes.PullFake",
    "personfake": "tests.providers.fakes.PersonFake",
    "archivefake": "tests.providers.fakes.ArchiveFake",
    "hintfake": "tests.providers.fakes.HintFake",
}
