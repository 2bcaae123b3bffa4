"""Optional capabilities: what some providers can do and others cannot.

Not methods of providers.base.Provider, so that a provider is never forced to pretend: a caller
asks first (`isinstance(provider, ScreeningLookup)`) and skips what the provider does not offer.
Each is a runtime-checkable Protocol: a provider has the capability by having the method.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from providers.base import Screening


@runtime_checkable
class ScreeningLookup(Protocol):
    """A PEP / sanctions look-up on the person of a session, after its decision (Veriff's person
    record; later Solaris's and Signicat's screening)."""

    def fetch_person_screening(self, provider_session_id: str) -> Screening | None:
        """The person's PEP / sanctions matches (one call); None when the provider has no record.
        Raises ProviderError (to retry)."""


@runtime_checkable
class DuplicateDetection(Protocol):
    """The provider reports other sessions of ours that show the same face (Veriff's
    biometricAuthentication.matchedSessionId): the case page's duplicate check."""

    def matched_session_ids(self, raw: Mapping[str, Any]) -> list[str]:
        """The provider's session ids that a stored decision (its raw payload) names."""


@runtime_checkable
class DeclineReasonKinds(Protocol):
    """The provider's decline reasons are sorted into kinds: the customer's photos or document
    (providers.base.DECLINE_QUALITY) or fraud and tampering (DECLINE_FRAUD)."""

    def decline_reason_kind(self, reason_code: str) -> str:
        """DECLINE_QUALITY or DECLINE_FRAUD for one of its reason codes; "" for one it does not
        know (kyc treats an unknown reason as the risky kind)."""


@runtime_checkable
class ImageUpload(Protocol):
    """Images of the person or document sent to the provider by us rather than taken in its hosted
    flow (Veriff has an endpoint for it, POST /sessions/{id}/media; no provider here offers it yet)."""

    def upload_image(self, provider_session_id: str, *, context: str, content: bytes, mime_type: str) -> str:
        """Send one image for the session (context: face, document-front, …); the provider's media
        id. Raises ProviderError."""


@runtime_checkable
class PersonDeletionCheck(Protocol):
    """The provider can confirm that a person it told us it deleted is gone. A deletion notice
    whose body names nobody (Solaris's PERSON_DELETED is `{}`, the person only in an unsigned
    header) could be a captured delivery replayed with another person's id: kyc erases only once
    the provider confirms."""

    def person_deleted(self, provider_person_id: str) -> bool:
        """True when the provider no longer has the person (Solaris: GET /v1/persons/{id} is 404);
        False when it still has them. Raises ProviderError (to retry) when it cannot tell."""


@dataclass(frozen=True)
class AuthenticationStart:
    """A re-authentication begun at the provider: its id, and where to send the person (a
    single-use launch, valid until `expires_at`)."""

    flow_id: str
    url: str
    expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class AuthenticationResult:
    """A re-authentication's outcome: `approved` only when the provider found nothing wrong;
    `reasons` its own codes, `reason` them in words."""

    flow_id: str
    provider_session_id: str
    approved: bool
    reasons: tuple[str, ...] = ()
    reason: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Reauthentication(Protocol):
    """The provider can check again that a person it verified before is the one in front of the
    camera (ShareID's authenticate flow: a face against the applicant's onboarding)."""

    def authentication_start(
        self, provider_session_id: str, *, return_url: str, notification_url: str = ""
    ) -> AuthenticationStart:
        """Begin one re-authentication of the person verified in `provider_session_id`. Raises
        ProviderError."""

    def authentication_fetch(self, flow_id: str) -> AuthenticationResult | None:
        """Its outcome; None while it is not ready. Raises ProviderRateLimited when asked too
        often, ProviderError otherwise."""


CAPABILITIES = (
    ScreeningLookup,
    DuplicateDetection,
    DeclineReasonKinds,
    ImageUpload,
    PersonDeletionCheck,
    Reauthentication,
)


def capabilities_of(provider: object) -> frozenset[str]:
    """The names of the optional capabilities `provider` has (for the system check and docs)."""
    return frozenset(capability.__name__ for capability in CAPABILITIES if isinstance(provider, capability))
