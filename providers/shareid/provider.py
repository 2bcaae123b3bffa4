"""ShareID behind the provider interface (its protocol: README.md here): onboarding, polling, the
untrusted callback, the single-use SDK launch, and re-authentication (an optional capability).

A session here is one onboarding; its provider_session_id is the onboarding's `applicant_id`. An
onboarding's SDK token starts the SDK once: the one the start gave is kept in the cache until the
first visit takes it, and every later visit starts a new onboarding (a new applicant id, which kyc
makes the session's own: Launch.provider_session_id).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from contextlib import AbstractContextManager
from functools import cached_property
from urllib.parse import quote, urlsplit

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from providers import base
from providers.base import (
    ANSWER_FORGED,
    ANSWER_MALFORMED,
    ANSWER_PING,
    ANSWER_UNKNOWN_SUBSCRIPTION,
    CreatedSession,
    Launch,
    MediaItem,
    MediaStream,
    Provider,
    ProviderError,
    ProviderUpdate,
    SessionRequest,
    WebhookRequest,
)
from providers.capabilities import AuthenticationResult, AuthenticationStart
from providers.shareid import normalize
from providers.shareid.client import (
    ONBOARDING_FETCH_PATH,
    ONBOARDING_FETCH_TOKEN_PATH,
    ONBOARDING_START_PATH,
    ShareIDClient,
)
from providers.shareid.sandbox import credentials as sandbox

# ShareID: "wait 5 s between each call" of one result's fetch (its "Fetch Result" pages).
MIN_POLL_SECONDS = 5.0
# ShareID accepts a session_duration of 300 to 3600 seconds (its onboarding start).
SESSION_DURATIONS = range(300, 3601)
# A callback carries four base64 images (a third larger than the files): far above Django's
# default body limit.
DEFAULT_CALLBACK_MAX_BYTES = 40 * 1024 * 1024
# An unused SDK token is not handed out in its last seconds: the person's browser must still
# reach the SDK before it expires.
LAUNCH_MARGIN = dt.timedelta(seconds=30)

# What the end user is told for each quality reason (the ones a new onboarding can put right).
RESUBMISSION_MESSAGES = {
    "no_doc": _(
        "We could not see your document clearly. Put it on a plain surface in good light, "
        "with all four corners in the picture."
    ),
    "doc_expired": _("Your document has expired. Please use a valid document."),
    "no_face": _("We could not see your face clearly. Find good light and look straight at the camera."),
    "face_insufficient_quality": _(
        "The picture of your face was not sharp enough. Hold still, in good light, without glasses or a hat."
    ),
    "name_not_extracted": _(
        "We could not read the name on your document. Avoid glare and hold the camera steady."
    ),
    "surname_not_extracted": _(
        "We could not read the name on your document. Avoid glare and hold the camera steady."
    ),
    "date_not_extracted": _(
        "We could not read the date of birth on your document. Avoid glare and hold the camera steady."
    ),
}
# Any other OCR failure ShareID may name (normalize.NOT_EXTRACTED).
NOT_EXTRACTED_MESSAGE = _("We could not read your document. Avoid glare and hold the camera steady.")


def sdk_token_key(applicant_id: str) -> str:
    """The cache key of an onboarding's unused SDK token (hashed: cache backends limit keys)."""
    return "shareid:sdk-token:" + hashlib.sha256(applicant_id.encode()).hexdigest()[:32]


class ShareIDProvider(Provider):
    name = "shareid"
    display_name = "ShareID"  # as the company writes it
    webhook_kinds = frozenset({""})  # one callback URL: /webhooks/shareid/?token=…
    launch_per_visit = True  # the SDK token is single-use
    # A known token is always answered 200 (the seed: anything else starts ShareID's retries). A
    # body we cannot read is kept by the store: sent again, it would only be a duplicate. A wrong
    # token is a forgery.
    webhook_answers = {
        ANSWER_FORGED: 401,
        ANSWER_MALFORMED: 200,
        ANSWER_UNKNOWN_SUBSCRIPTION: 503,
        ANSWER_PING: 200,
    }

    def __init__(
        self,
        *,
        api_url: str,
        business_hash: str,
        api_key: str,
        sdk_url: str,
        session_duration: int = 3600,
        poll_seconds: float = MIN_POLL_SECONDS,
        callback: bool = True,
        timeout: float = 10.0,
        onboarding_start_path: str = ONBOARDING_START_PATH,
        onboarding_fetch_token_path: str = ONBOARDING_FETCH_TOKEN_PATH,
        onboarding_fetch_path: str = ONBOARDING_FETCH_PATH,
        callback_max_bytes: int = DEFAULT_CALLBACK_MAX_BYTES,
    ):
        """Built from the options of its KYC_PROVIDERS entry (config/settings.py reads them from
        the SHAREID_* variables): it reads no setting itself."""
        if session_duration not in SESSION_DURATIONS:
            raise ValueError(f"SHAREID_SESSION_DURATION must be 300 to 3600 seconds, not {session_duration}")
        self.api_url = api_url.rstrip("/")
        self.business_hash, self.api_key, self.sdk_url = business_hash, api_key, sdk_url
        self.session_duration = int(session_duration)
        self.callback = callback
        self.timeout = timeout
        self.paths = {
            "onboarding_start_path": onboarding_start_path,
            "onboarding_fetch_token_path": onboarding_fetch_token_path,
            "onboarding_fetch_path": onboarding_fetch_path,
        }
        self.poll_interval = dt.timedelta(seconds=max(MIN_POLL_SECONDS, float(poll_seconds)))
        self.session_lifetime = dt.timedelta(seconds=self.session_duration)
        self.max_webhook_body = int(callback_max_bytes)

    @cached_property
    def client(self) -> ShareIDClient:
        # Built at first use (two threads may both build one: the fetch token they share is in
        # the cache, not in the client).
        return ShareIDClient(
            api_url=self.api_url,
            business_hash=self.business_hash,
            api_key=self.api_key,
            timeout=self.timeout,
            **self.paths,
        )

    # -- configuration --------------------------------------------------------------------------
    def configuration_problems(self) -> list[str]:
        # ShareID publishes no API URL: its contact gives it, with the credentials. The sandbox is
        # recognised by its path on any host and by its credentials, published in the repository.
        problems = []
        for variable, url in (("SHAREID_API_URL", self.api_url), ("SHAREID_SDK_URL", self.sdk_url)):
            if not url:
                problems.append(f"{variable} is empty: set it to the one ShareID gave you")
            elif sandbox.BASE_PATH in urlsplit(url).path:
                problems.append(
                    f"{variable} points at the KYC Desk sandbox: set it to the one ShareID gave you"
                )
        if self.sdk_url and "{token}" not in self.sdk_url:
            problems.append("SHAREID_SDK_URL has no {token}: the SDK page needs the onboarding's token")
        for variable, value, public in (
            ("SHAREID_BUSINESS_HASH", self.business_hash, sandbox.BUSINESS_HASH),
            ("SHAREID_API_KEY", self.api_key, sandbox.API_KEY),
        ):
            if not value:
                problems.append(f"{variable} is empty: set it to the one ShareID gave you")
            elif value == public:
                problems.append(f"{variable} is the sandbox's public one: set it to the one ShareID gave you")
        return problems

    # -- sessions -------------------------------------------------------------------------------
    def create_session(self, request: SessionRequest) -> CreatedSession:
        """An onboarding; its SDK token kept for the first visit (launch). A failure is not retried
        here: a retry makes a new onboarding, and the unused one expires at ShareID."""
        applicant_id, _launch = self._onboard(request)
        return CreatedSession(provider_session_id=applicant_id, raw={"applicant_id": applicant_id})

    def _onboard(self, request: SessionRequest, *, keep: bool = True) -> tuple[str, Launch]:
        started = self.client.start_onboarding(
            reference=request.reference,
            callback=request.notification_url if self.callback else "",
            session_duration=self.session_duration,
        )
        applicant_id, token = started["applicant_id"], started["token"]
        expires_at = dt.datetime.now(dt.UTC) + self.session_lifetime
        if keep:
            cache.set(
                sdk_token_key(applicant_id),
                {"token": token, "return_url": request.return_url, "expires_at": expires_at},
                int((self.session_lifetime - LAUNCH_MARGIN).total_seconds()),
            )
        return applicant_id, Launch(url=self.sdk_link(token, request.return_url), expires_at=expires_at)

    def launch(
        self,
        provider_session_id: str,
        *,
        stored_url: str = "",
        provider_person_id: str = "",
        request: SessionRequest | None = None,
    ) -> Launch | None:
        """The onboarding's unused SDK token, at most once; else a new onboarding for `request`
        (its applicant id returned: kyc makes it the session's)."""
        key = sdk_token_key(provider_session_id)
        unused = cache.get(key)
        # Two visits at once may both read the token: only the one whose delete removed it may use
        # it (cache.delete is True for one caller only), the other starts a new onboarding.
        if unused and cache.delete(key):
            return_url = request.return_url if request else unused["return_url"]
            return Launch(url=self.sdk_link(unused["token"], return_url), expires_at=unused["expires_at"])
        if request is None:
            raise ProviderError(
                f"ShareID applicant {provider_session_id} has no unused SDK token and no request "
                "to start a new onboarding with",
                permanent=False,
            )
        applicant_id, fresh = self._onboard(request, keep=False)
        return Launch(url=fresh.url, expires_at=fresh.expires_at, provider_session_id=applicant_id)

    def sdk_link(self, token: str, return_url: str) -> str:
        """SHAREID_SDK_URL with the token and the return URL (appended when it has no place)."""
        url = self.sdk_url.replace("{token}", quote(token, safe=""))
        quoted = quote(return_url, safe="")
        if "{return_url}" in url:
            return url.replace("{return_url}", quoted)
        if not return_url:
            return url
        return f"{url}{'&' if urlsplit(url).query else '?'}return_url={quoted}"

    def fetch_update(
        self, provider_session_id: str, *, provider_person_id: str = ""
    ) -> ProviderUpdate | None:
        """The onboarding's result as its decision (with its images), None while not ready.
        ProviderRateLimited when fetched again within ShareID's 5 s."""
        result = self.client.fetch_onboarding(provider_session_id)
        if result is None:
            return None
        try:
            return normalize.update_from_result(result, provider_session_id)
        except ValueError as exc:
            raise ProviderError(f"ShareID answered an unreadable result: {exc}") from exc

    # -- media ----------------------------------------------------------------------------------
    def list_media(self, provider_session_id: str, *, provider_person_id: str = "") -> list[MediaItem]:
        """The result's images, inline (a fallback: kyc takes them from the applied update's media).
        Empty while the result is not ready."""
        result = self.client.fetch_onboarding(provider_session_id)
        return normalize.media_from_result(result, provider_session_id) if result else []

    def open_media(
        self, item: MediaItem, *, provider_person_id: str = ""
    ) -> AbstractContextManager[MediaStream]:
        raise ProviderError(
            f"ShareID has no download for {item.provider_media_id}: its images come inline (content)",
            permanent=True,
        )

    # -- the callback ---------------------------------------------------------------------------
    def notification_token(self, request: WebhookRequest) -> str | None:
        # The per-session token we put in the callback URL's query (SessionRequest.notification_url).
        return request.query.get("token", "")

    def authenticate_webhook(self, request: WebhookRequest) -> None:
        # Nothing beyond the token the store checked: ShareID signs nothing and sends no header of
        # ours (README.md here, "Callback"). Authentic then means only "about a session of ours";
        # the body is never trusted: its verdict is fetched (parse_webhook).
        return None

    def webhook_dedupe_key(self, request: WebhookRequest) -> str:
        # ShareID sends no delivery id; a retry carries the same bytes.
        return f"shareid:callback:{hashlib.sha256(request.body).hexdigest()}"

    def parse_webhook(self, request: WebhookRequest) -> list[ProviderUpdate]:
        return [normalize.callback_update(request.body, self.webhook_dedupe_key(request))]

    def webhook_session_id(self, request: WebhookRequest) -> str:
        # The applicant id alone: the images are not decoded here (the store calls it as the
        # callback waits for its answer).
        return normalize.callback_applicant(normalize.load_json_object(request.body))

    # -- presentation ---------------------------------------------------------------------------
    @staticmethod
    def explain_reason(reason_code: str) -> str:
        return normalize.explain(str(reason_code))

    @staticmethod
    def resubmission_message(reason_code: str) -> str:
        code = str(reason_code)
        if normalize.reason_kind(code) != normalize.QUALITY:
            return ""
        return RESUBMISSION_MESSAGES.get(code, NOT_EXTRACTED_MESSAGE)

    # -- optional capabilities (providers/capabilities.py) --------------------------------------
    def decline_reason_kind(self, reason_code: str) -> str:
        # A technical or unknown reason is no kind of ours: "", which kyc treats as the risky kind.
        kinds = {normalize.FRAUD: base.DECLINE_FRAUD, normalize.QUALITY: base.DECLINE_QUALITY}
        return kinds.get(normalize.reason_kind(str(reason_code)), "")

    def authentication_start(
        self, provider_session_id: str, *, return_url: str, notification_url: str = ""
    ) -> AuthenticationStart:
        """Reauthentication: ShareID's authenticate flow for the onboarding's applicant."""
        started = self.client.start_authenticate(
            applicant_id=provider_session_id, callback=notification_url if self.callback else ""
        )
        return AuthenticationStart(
            flow_id=started["flow_id"],
            url=self.sdk_link(started["token"], return_url),
            expires_at=dt.datetime.now(dt.UTC) + self.session_lifetime,
        )

    def authentication_fetch(self, flow_id: str) -> AuthenticationResult | None:
        data = self.client.fetch_authenticate(flow_id)
        if data is None:
            return None
        reasons = normalize.reason_list(data.get("reasons")) if "reasons" in data else None
        applicant_id = data.get("applicant_id")
        return AuthenticationResult(
            flow_id=flow_id,
            provider_session_id=applicant_id if isinstance(applicant_id, str) else "",
            approved=reasons == [],
            reasons=tuple(reasons or ()),
            reason=normalize.reasons_in_words(reasons) if reasons != [] else "",
            raw={k: v for k, v in data.items() if k not in normalize.IMAGE_CONTEXTS},
        )
