"""The provider interface: what KYC Desk needs from an identity-verification provider.

Designed with four providers in view (Veriff, Solaris, ShareID, Signicat Assure):
- push: signed webhooks (Veriff, Solaris) -> `authenticate_webhook` + `parse_webhook`, which see
  the whole request (`WebhookRequest`: headers, raw body, query string);
- callbacks authenticated by a per-session secret we generate and hand over in
  `SessionRequest.notification_url` (ShareID: in the URL's query; Signicat: as the Authorization
  header it sends back) -> `notification_token`, checked by the webhook store;
- notifications that are only hints (`ProviderUpdate.hint`): the fetched result is the truth;
- pull: polling (ShareID, every `poll_interval` at most; Veriff GET decision) -> `fetch_update`,
  with `ProviderRateLimited` an ordinary answer;
- facts about a person rather than a session (Solaris PERSON_CHANGED / PERSON_DELETED, a Signicat
  dossier) -> `PersonUpdate`, and `CreatedSession.provider_person_id`;
- a hosted URL that comes after the session id (Solaris: `ProviderUpdate.hosted_url`) or must be
  fetched afresh at each visit (ShareID, Signicat: single-use tokens) -> `launch`;
- OAuth2 client-credentials tokens that expire (Solaris, Signicat): providers/oauth.py;
- media downloaded one by one (Veriff), inline in a result (ShareID base64) or in one archive
  (Signicat's ZIP) -> `list_media` + `open_media` / `open_media_archive` (MediaItem.source).

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

# Normalized session statuses. `kyc.status` holds the transition table.
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


class ProviderRateLimited(ProviderError):
    """The provider answered "too many calls" (ShareID: more than one fetch per 5 s). Not a fault:
    the caller tries again after `retry_after` seconds, without counting a failure."""

    def __init__(self, message: str = "too many calls", *, retry_after: float | None = None):
        super().__init__(message, permanent=False, status_code=429)
        self.retry_after = retry_after


# Outcomes of receiving a delivery, each answered with the status its provider expects
# (Provider.webhook_answers).
ANSWER_FORGED = "forged"  # not authentic: a wrong signature, key or token
ANSWER_MALFORMED = "malformed"  # authentic, but its body cannot be read
ANSWER_UNKNOWN_SUBSCRIPTION = "unknown_subscription"  # signed with a secret we do not hold
ANSWER_PING = "ping"  # a provider's test delivery (Solaris WEBHOOK-SUBSCRIPTION): nothing to keep


class WebhookRejected(Exception):
    """The inbound request is not authentic (wrong key, signature, header).

    `status_code` overrides what the provider answers to a forged delivery
    (Provider.webhook_answers[ANSWER_FORGED]: Veriff 401; Solaris 422, which stops its retries).
    """

    #: Which of Provider.webhook_answers answers it when `status_code` is not given.
    outcome = ANSWER_FORGED

    def __init__(self, reason: str, status_code: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code


class WebhookUnknownSubscription(WebhookRejected):
    """The delivery names a subscription, or is signed for a secret, that we do not hold (a secret
    rotated at the provider and not here, a subscription we forgot). It cannot be authenticated,
    but it is a misconfiguration, not a forgery: it is kept for inspection and answered so that
    the provider delivers it again (Provider.webhook_answers[ANSWER_UNKNOWN_SUBSCRIPTION]), and
    nothing is lost once the operator has set the secret."""

    outcome = ANSWER_UNKNOWN_SUBSCRIPTION


class WebhookPing(Exception):
    """A provider's test delivery, answered at once and not stored (Solaris sends one, with an
    empty body and no signature, when a subscription is created, and creates it only on a 2xx)."""


class WebhookMalformed(Exception):
    """The request is authentic but its body cannot be understood (broken JSON, wrong shape)."""


@dataclass(frozen=True)
class WebhookRequest:
    """A delivery as it reached us, before anything of it is trusted: the URL's `kind` segment
    ("" for a provider with one delivery URL), the headers, the raw body and the query string's
    parameters. A stored event gives back the same shape, with only the headers and query
    parameters its provider keeps (Provider.kept_webhook_headers / kept_webhook_query)."""

    kind: str
    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)


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
    """What we ask a provider to verify. `reference` is ours (Veriff: vendorData).

    `return_url` is the page the end user's browser comes back to after the hosted flow (a GET).
    `notification_url` is where the provider may POST to us server to server about this session;
    it carries `notification_token` in its query string, a secret for this session alone that the
    webhook store checks (Provider.notification_token): a provider whose only authenticity is the
    URL we gave it (ShareID) puts the URL as it is, one that sends back a header we chose
    (Signicat's authorizationHeader) may send the token there instead. `provider_person_id`: the
    person (Solaris) or dossier (Signicat) the provider knows this customer by, when an earlier
    session created one ("" otherwise). `device_data`: the end user's device fingerprint, when the
    start page took one (Solaris's device monitoring wants a Seon fingerprint); "" otherwise, and a
    provider that has no use for it ignores it."""

    reference: str
    return_url: str
    notification_url: str = ""
    notification_token: str = ""
    person: PersonData = field(default_factory=PersonData)
    document: DocumentData | None = None
    language: str = "en"
    provider_person_id: str = ""
    device_data: str = ""


@dataclass(frozen=True)
class CreatedSession:
    """A session created at the provider. `url` may be "": the hosted URL comes later (Solaris:
    in a notification, ProviderUpdate.hosted_url) or is made at each visit (Provider.launch).
    `provider_person_id`: the person or dossier the provider created or used for it, kept on the
    customer's provider account so that person-level events find the customer."""

    provider_session_id: str
    url: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)
    provider_person_id: str = ""


@dataclass(frozen=True)
class Launch:
    """Where to send the end user now: `url`, valid until `expires_at` (None: for the session's
    life). A single-use launch (ShareID's SDK token, Signicat's capture URL) is made at each
    visit and never stored."""

    url: str
    expires_at: dt.datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    #: Set when the launch began a new session at the provider (ShareID: an SDK token comes only
    #: with a new onboarding, which has its own applicant id): kyc makes it the session's provider
    #: id from now on, the earlier one kept in the session's history. "" otherwise.
    provider_session_id: str = ""


# Kinds of risk flag a decision can carry; the review policy may hold an
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
    reason_code: str = ""  # the deciding reason
    #: Every reason the provider gave, the deciding one among them (ShareID's `reasons` list),
    #: for staff to read each in words (explain_reason). Empty: the one `reason_code`, if any.
    reason_codes: tuple[str, ...] = ()
    decided_at: dt.datetime | None = None
    person: Mapping[str, Any] = field(default_factory=dict)
    document: Mapping[str, Any] = field(default_factory=dict)
    risk_flags: tuple[RiskFlag, ...] = ()


@dataclass(frozen=True)
class ProviderUpdate:
    """One normalized fact about a session: a progress event, or a decision.

    `status` is the normalized status the fact implies (None for a fact we record but that moves
    nothing). `dedupe_key` identifies the fact itself, so two deliveries of it apply once.
    `hint=True`: the notification only says that something changed (ShareID's callback, Signicat's
    notification, Solaris's IDENTIFICATION): processing fetches the session's result
    (Provider.fetch_update) and applies that instead, the fetch being the truth. `hosted_url`: the
    hosted flow's URL, when the provider gives it after the session id (Solaris).
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
    hint: bool = False
    hosted_url: str = ""
    #: Media that came with the fact itself (ShareID's base64 images, in a fetched result or in a
    #: callback: MEDIA_INLINE items with their `content`), stored as the update is applied, even
    #: a hint's (the callback's images are kept; its verdict is not). Never in `raw`.
    media: tuple[MediaItem, ...] = ()


PERSON_CHANGED = "changed"
PERSON_DELETED = "deleted"


@dataclass(frozen=True)
class PersonUpdate:
    """A fact about a person at the provider rather than a session (Solaris PERSON_CHANGED and
    PERSON_DELETED, a Signicat dossier). `provider_person_id` names the person as
    CreatedSession.provider_person_id did. "changed": the person's data or screening changed
    (`screening` when the provider says how; else kyc asks, Provider.fetch_person_screening);
    "deleted": the provider erased the person, and we must erase ours."""

    provider_person_id: str
    kind: str  # PERSON_CHANGED | PERSON_DELETED
    dedupe_key: str
    screening: Screening | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


# How a media file's bytes reach us (MediaItem.source).
MEDIA_DOWNLOAD = "download"  # one request per file (Veriff): Provider.open_media
MEDIA_INLINE = "inline"  # in the listing itself (ShareID's base64 images): MediaItem.content
MEDIA_ARCHIVE = "archive"  # one archive for the session (Signicat's ZIP): Provider.open_media_archive,
# the file being the archive member named `provider_media_id`


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
    source: str = MEDIA_DOWNLOAD
    content: bytes = field(default=b"", repr=False)  # the file, for MEDIA_INLINE


class MediaStream(Protocol):
    """A media file's bytes as they arrive. `readinto` rather than chunks of new bytes, so that the
    caller receives into buffers it reuses (kyc/media.py: a 500 MB video is not 500 allocations)."""

    def readinto(self, buffer: bytearray | memoryview, /) -> int:
        """Fill `buffer` with the next bytes; how many (fewer only at the end, 0 once done).
        Raises ProviderError (not permanent) if the transfer breaks or ends short."""


class Provider(ABC):
    """One identity-verification provider. Instances are cheap and thread-safe."""

    name: str
    #: Webhook kinds this provider delivers, as they appear in /webhooks/<provider>/<kind>/; ""
    #: for a provider with one delivery URL (/webhooks/<provider>/).
    webhook_kinds: frozenset[str] = frozenset()
    #: The lifetime of a session at the provider, after which it can only expire or be abandoned.
    session_lifetime: dt.timedelta = dt.timedelta(days=7)
    #: Headers kept with a stored delivery, for processing and inspection (a case-insensitive
    #: match; the request's own spelling of the name is kept).
    kept_webhook_headers: tuple[str, ...] = ("Content-Type", "User-Agent")
    #: Headers kept only as a fingerprint (API keys, tokens): enough to tell "our key" from "a
    #: wrong key", useless to anyone who reads the table.
    fingerprinted_webhook_headers: tuple[str, ...] = ("Authorization",)
    #: Query-string parameters kept with a stored delivery, for processing. Never the
    #: notification token, which the store checks and keeps only as a fingerprint.
    kept_webhook_query: tuple[str, ...] = ()
    #: The HTTP status answering each outcome (ANSWER_*); a stored delivery is answered 200.
    #: An unknown subscription is answered so that the provider delivers again (a 5xx): a
    #: misconfiguration on our side must not lose deliveries.
    webhook_answers: Mapping[str, int] = {
        ANSWER_FORGED: 401,
        ANSWER_MALFORMED: 400,
        ANSWER_UNKNOWN_SUBSCRIPTION: 503,
        ANSWER_PING: 200,
    }
    #: How often a session is polled while it is open (None: not polled; the provider notifies).
    #: A provider that must be polled (ShareID: never more often than every 5 s) sets it.
    poll_interval: dt.timedelta | None = None
    #: True when the hosted flow must be launched afresh at each visit (single-use tokens):
    #: a session is ready once it has its provider id, with no stored URL.
    launch_per_visit: bool = False
    #: The largest delivery body accepted on this provider's webhook URL, in bytes (None: Django's
    #: DATA_UPLOAD_MAX_MEMORY_SIZE). ShareID's callback carries base64 images, far above it.
    max_webhook_body: int | None = None
    #: True when the provider finds a session only under its person (Solaris: an identification is
    #: /v1/persons/{person_id}/identifications/{id}): kyc then hands the person's id to every call
    #: about a session (`provider_person_id`), and spares the look-up for the others.
    sessions_under_person: bool = False

    @abstractmethod
    def configuration_problems(self) -> list[str]:
        """Why this provider, as configured, must not serve real customers: it points at its
        sandbox (whose credentials are public) or lacks a credential. Each problem names the
        environment variable to set. Empty: ready for production. Abstract on purpose: a new
        provider must say what its sandbox and its credentials are."""

    @abstractmethod
    def create_session(self, request: SessionRequest) -> CreatedSession:
        """Create a session at the provider and return its id and (when it has one yet) its
        hosted-flow URL."""

    # `provider_person_id` below: the person (Solaris) or dossier (Signicat) the session was made
    # for (CreatedSession.provider_person_id, kept on the customer's provider account), "" when
    # there is none. A provider whose sessions live under a person (Solaris's identifications are
    # /v1/persons/{person_id}/identifications/{id}) needs it to find the session again and says
    # so (sessions_under_person); the others get "". The session id stays the provider's own id.
    def launch(
        self,
        provider_session_id: str,
        *,
        stored_url: str = "",
        provider_person_id: str = "",
        request: SessionRequest | None = None,
    ) -> Launch | None:
        """Where to send the end user now, called at each visit of the session page. The default
        serves the URL stored with the session (CreatedSession.url, or one that came later in
        ProviderUpdate.hosted_url); None while there is none yet (the page waits). A provider
        whose hosted flow starts with a single-use token (launch_per_visit) makes a new one here;
        `request` is the session's request as create_session had it (its return and notification
        URLs), for a provider whose new token comes only with a new session at its side
        (Launch.provider_session_id). Raises ProviderError."""
        return Launch(url=stored_url) if stored_url else None

    @abstractmethod
    def fetch_update(
        self, provider_session_id: str, *, provider_person_id: str = ""
    ) -> ProviderUpdate | None:
        """Ask the provider for the session's current decision (None: no decision yet).
        Raises ProviderRateLimited when called too often."""

    @abstractmethod
    def list_media(self, provider_session_id: str, *, provider_person_id: str = "") -> list[MediaItem]:
        """Every media file of the session, of every attempt."""

    @abstractmethod
    def open_media(
        self, item: MediaItem, *, provider_person_id: str = ""
    ) -> AbstractContextManager[MediaStream]:
        """A context manager yielding the file's bytes as a stream (never the whole file)."""

    def open_media_archive(self, provider_session_id: str) -> AbstractContextManager[MediaStream]:
        """The session's media as one ZIP archive, streamed (items listed with MEDIA_ARCHIVE)."""
        raise ProviderError(f"{self.name} delivers no media archive", permanent=True)

    def notification_token(self, request: WebhookRequest) -> str | None:
        """Where this provider's delivery carries the per-session token we gave it
        (SessionRequest.notification_token): its value, "" when it is missing (a forgery), None
        for a provider that authenticates otherwise (the default: a signature, a key). The webhook
        store checks the token before authenticate_webhook runs."""
        return None

    @abstractmethod
    def authenticate_webhook(self, request: WebhookRequest) -> None:
        """Raise WebhookRejected unless the raw request is authentic (WebhookUnknownSubscription
        when it is signed for a subscription or secret we do not hold; WebhookPing for a test
        delivery to acknowledge). Never parses the body."""

    @abstractmethod
    def webhook_dedupe_key(self, request: WebhookRequest) -> str:
        """A key equal for two deliveries of the same notification (provider id or body hash)."""

    @abstractmethod
    def parse_webhook(self, request: WebhookRequest) -> list[ProviderUpdate | PersonUpdate]:
        """Turn an authenticated delivery into updates. Raises WebhookMalformed."""

    # -- presentation: safe defaults, so that a provider without words for its codes still shows
    # its cases (optional capabilities are in providers/capabilities.py, not here) ---------------
    @property
    def display_name(self) -> str:
        """The provider's name as staff read it in lists and forms ("ShareID"); `name` stays the
        value stored and sent (KYC_PROVIDERS' key, the API's "provider")."""
        return self.name.capitalize()

    def explain_code(self, code: int | None) -> str:
        """Staff's words for one of this provider's decision codes; "" for a code it has none for."""
        return ""

    def explain_reason(self, reason_code: str) -> str:
        """Staff's words for one of this provider's reason codes; "" for a code it has none for."""
        return ""

    def fetch_person(self, provider_person_id: str) -> PersonUpdate | None:
        """Read the person again (a PERSON_CHANGED that says only "changed"): what the provider's
        record says now, as a PERSON_CHANGED update with its screening. None: nothing to read."""
        return None

    def resubmission_message(self, reason_code: str) -> str:
        """What the end user is told to do differently after a resubmission request for this
        reason, in plain (translatable) words; "" for a reason it has none for: kyc then says its
        general sentence. Never a decline's reason: those are for staff."""
        return ""

    def webhook_session_id(self, request: WebhookRequest) -> str:
        """The provider session id a delivery is about, or "" (used to index stored events)."""
        updates = self.parse_webhook(request)
        return getattr(updates[0], "provider_session_id", "") if updates else ""
