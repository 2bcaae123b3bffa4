"""The provider interface: what KYC Desk needs from an identity-verification provider.

Designed with the four providers of ../shared/providers/ in view:
- push: signed webhooks (Veriff, Solaris) -> `authenticate_webhook` + `parse_webhook`;
- pull: polling (ShareID fetch, Signicat GET process, Veriff GET decision) -> `fetch_update`;
- callbacks authenticated by a header we chose (Signicat, ShareID) -> `authenticate_webhook`;
- OAuth2 client-credentials tokens that expire (Solaris, Signicat): a client concern, hidden here;
- media downloaded (Veriff) -> `list_media` + `open_media`.

A provider returns normalized dataclasses and never touches `kyc` models: `kyc.services` applies
what it returns. Everything here is synchronous and raises `ProviderError` for transport faults.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

# Normalized session statuses (DESIGN.md, "Domain"). `kyc.status` holds the transition table.
CREATED = "created"
STARTED = "started"
SUBMITTED = "submitted"
APPROVED = "approved"
DECLINED = "declined"
RESUBMISSION_REQUESTED = "resubmission_requested"
REVIEW = "review"
EXPIRED = "expired"
ABANDONED = "abandoned"

# What a decline's reason code is about (Provider.decline_reason_kind): the customer's photos or
# document (they can try again), or fraud and tampering (a person must look first).
DECLINE_QUALITY = "quality"
DECLINE_FRAUD = "fraud"
DECLINE_REASON_KINDS = (DECLINE_QUALITY, DECLINE_FRAUD)

STATUSES = (
    CREATED,
    STARTED,
    SUBMITTED,
    APPROVED,
    DECLINED,
    RESUBMISSION_REQUESTED,
    REVIEW,
    EXPIRED,
    ABANDONED,
)


class ProviderError(Exception):
    """A call to the provider failed.

    `permanent=False` (timeouts, 5xx, connection errors) means the same call may succeed later and
    the caller should retry with backoff; `permanent=True` (4xx: bad request, bad credentials)
    means retrying cannot help and the work must be parked for a human (healthchecks'
    TransportError).
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        status_code: int | None = None,
        provider_code: str | None = None,
    ):
        super().__init__(message)
        self.permanent = permanent
        self.status_code = status_code
        self.provider_code = provider_code


class ProviderNotConfigured(ProviderError):
    """The provider may not be used as configured: outside development it points at its sandbox
    or lacks its credentials (Provider.configuration_problems). Permanent: nothing works until
    the operator sets the variables the message names."""

    def __init__(self, message: str):
        super().__init__(message, permanent=True)


class WebhookRejected(Exception):
    """The inbound request is not authentic (wrong key, signature, header).

    `status_code` is what the provider expects for a rejection (Veriff: 401; Solaris: 422, which
    stops its retries).
    """

    def __init__(self, reason: str, status_code: int = 401):
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code


class WebhookMalformed(Exception):
    """The request is authentic but its body cannot be understood (broken JSON, wrong shape)."""


@dataclass(frozen=True)
class PersonData:
    first_name: str = ""
    last_name: str = ""
    date_of_birth: dt.date | None = None
    id_number: str = ""
    gender: str = ""
    nationality: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DocumentData:
    type: str = ""
    number: str = ""
    country: str = ""
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None


@dataclass(frozen=True)
class SessionRequest:
    """What we ask a provider to verify. `reference` is ours (Veriff: vendorData)."""

    reference: str
    callback_url: str
    person: PersonData = field(default_factory=PersonData)
    document: DocumentData | None = None
    language: str = "en"


@dataclass(frozen=True)
class CreatedSession:
    provider_session_id: str
    url: str
    raw: Mapping[str, Any] = field(default_factory=dict)


# Kinds of risk flag a decision can carry (DESIGN.md, "Risk flags"); the review policy may hold an
# approval for any of them (KYC_REVIEW_HOLD_ON_FLAGS).
RISK_LABEL = "risk_label"  # the provider's own fraud/risk label
PEP_SANCTIONS = "pep_sanctions"  # the verified person matched a PEP or sanctions list
MATCHED_SESSION = "matched_session"  # the same face or document seen on another session
RISK_FLAG_KINDS = (RISK_LABEL, PEP_SANCTIONS, MATCHED_SESSION)

# Lists a screening hit can come from (ScreeningResult.list_type).
LIST_PEP = "pep"
LIST_SANCTIONS = "sanctions"
LIST_ADVERSE_MEDIA = "adverse_media"
LIST_WARNING = "warning"
LIST_OTHER = "other"
SCREENING_LISTS = (LIST_PEP, LIST_SANCTIONS, LIST_ADVERSE_MEDIA, LIST_WARNING, LIST_OTHER)


@dataclass(frozen=True)
class RiskFlag:
    """One risk signal on a decision, kept apart from the raw payload so that policy can act on it.

    `code` is the provider's own word (a risk label, a list category); `detail` says what it points
    at (another session's id, a category), never personal data beyond what the decision holds."""

    kind: str  # one of RISK_FLAG_KINDS
    code: str
    detail: str = ""


@dataclass(frozen=True)
class ScreeningHit:
    """One PEP / sanctions / adverse-media record a person was matched to, and why."""

    list_type: str  # one of SCREENING_LISTS
    matched_name: str
    date_of_birth: str = ""  # as the list has it: a year, a date, or ""
    countries: tuple[str, ...] = ()
    match_types: tuple[str, ...] = ()  # why it matched: exact name, alias, year of birth, …
    sources: tuple[Mapping[str, Any], ...] = ()  # {"name", "url", "date"} of the listings
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Screening:
    """A screening check's result for the person of one session (Veriff watchlist webhook, the
    person endpoint's matches; later Solaris and Signicat look-ups)."""

    source: str  # where it came from, e.g. "veriff:watchlist"
    possible_match: bool
    hits: tuple[ScreeningHit, ...] = ()
    check_type: str = ""  # initial or updated result (ongoing monitoring)
    search_term: Mapping[str, Any] = field(default_factory=dict)
    checked_at: dt.datetime | None = None


@dataclass(frozen=True)
class Decision:
    """A provider's decision on one attempt."""

    status: str  # one of the normalized statuses
    provider_status: str  # the provider's own word, kept verbatim
    code: int | None = None  # Veriff 9001/9102/…; recorded, never trusted alone
    reason: str = ""
    reason_code: str = ""
    decided_at: dt.datetime | None = None
    person: Mapping[str, Any] = field(default_factory=dict)
    document: Mapping[str, Any] = field(default_factory=dict)
    risk_flags: tuple[RiskFlag, ...] = ()


@dataclass(frozen=True)
class ProviderUpdate:
    """One normalized fact about a session: a progress event, or a decision.

    `status` is the normalized status the fact implies (None for a fact we record but that moves
    nothing). `dedupe_key` identifies the fact itself, so two deliveries of it apply once.
    """

    provider_session_id: str
    dedupe_key: str
    status: str | None
    attempt_id: str = ""
    event_code: str = ""
    occurred_at: dt.datetime | None = None
    decision: Decision | None = None
    # A screening result about the session's person (no status: it moves nothing by itself).
    screening: Screening | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MediaItem:
    provider_media_id: str
    context: str  # face, document-front, document-back, video, …
    name: str = ""
    mime_type: str = ""
    size: int | None = None  # as announced; units vary by provider, never trusted
    attempt_id: str = ""
    kind: str = "image"  # image | video
    url: str = ""


class MediaStream(Protocol):
    """A media file's bytes as they arrive. `readinto` rather than chunks of new bytes, so that the
    caller receives into buffers it reuses (kyc/media.py: a 500 MB video is not 500 allocations)."""

    def readinto(self, buffer: bytearray | memoryview, /) -> int:
        """Fill `buffer` with the next bytes; how many (fewer only at the end, 0 once done).
        Raises ProviderError (not permanent) if the transfer breaks or ends short."""


class Provider(ABC):
    """One identity-verification provider. Instances are cheap and thread-safe."""

    name: str
    #: Webhook kinds this provider delivers, as they appear in /webhooks/<provider>/<kind>/.
    webhook_kinds: frozenset[str] = frozenset()
    #: The lifetime of a session at the provider, after which it can only expire or be abandoned.
    session_lifetime: dt.timedelta = dt.timedelta(days=7)

    @abstractmethod
    def configuration_problems(self) -> list[str]:
        """Why this provider, as configured, must not serve real customers: it points at its
        sandbox (whose credentials are public) or lacks a credential. Each problem names the
        environment variable to set. Empty: ready for production. Abstract on purpose: a new
        provider must say what its sandbox and its credentials are."""

    @abstractmethod
    def create_session(self, request: SessionRequest) -> CreatedSession:
        """Create a session at the provider and return its id and hosted-flow URL."""

    @abstractmethod
    def fetch_update(self, provider_session_id: str) -> ProviderUpdate | None:
        """Ask the provider for the session's current decision (None: no decision yet)."""

    @abstractmethod
    def list_media(self, provider_session_id: str) -> list[MediaItem]:
        """Every media file of the session, of every attempt."""

    @abstractmethod
    def open_media(self, item: MediaItem) -> AbstractContextManager[MediaStream]:
        """A context manager yielding the file's bytes as a stream (never the whole file)."""

    @abstractmethod
    def authenticate_webhook(self, kind: str, headers: Mapping[str, str], body: bytes) -> None:
        """Raise WebhookRejected unless the raw request is authentic. Never parses the body."""

    @abstractmethod
    def webhook_dedupe_key(self, kind: str, headers: Mapping[str, str], body: bytes) -> str:
        """A key equal for two deliveries of the same notification (provider id or body hash)."""

    @abstractmethod
    def parse_webhook(self, kind: str, headers: Mapping[str, str], body: bytes) -> list[ProviderUpdate]:
        """Turn an authenticated delivery into updates. Raises WebhookMalformed."""

    # -- presentation: safe defaults, so that a provider without words for its codes still shows
    # its cases (optional capabilities are in providers/capabilities.py, not here) ---------------
    def explain_code(self, code: int | None) -> str:
        """Staff's words for one of this provider's decision codes; "" for a code it has none for."""
        return ""

    def explain_reason(self, reason_code: str) -> str:
        """Staff's words for one of this provider's reason codes; "" for a code it has none for."""
        return ""

    def resubmission_message(self, reason_code: str) -> str:
        """What the end user is told to do differently after a resubmission request for this
        reason, in plain (translatable) words; "" for a reason it has none for: kyc then says its
        general sentence. Never a decline's reason: those are for staff."""
        return ""

    def webhook_session_id(self, kind: str, headers: Mapping[str, str], body: bytes) -> str:
        """The provider session id a delivery is about, or "" (used to index stored events)."""
        updates = self.parse_webhook(kind, headers, body)
        return updates[0].provider_session_id if updates else ""
