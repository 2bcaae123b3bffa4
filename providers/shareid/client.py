"""HTTP client for ShareID's API (README.md here, "Endpoints", "Tokens", "Polling").

Every call is a JSON POST. The business credentials (`business_hash`, `api_key`) go in the body of
the starts and of the fetch-token requests, never in a URL; a fetch carries a fetch token in
`Authorization: Bearer`, shared by every process through the cache for a little under its
documented 10 minutes, and a 401 on a fetch drops it, gets a new one and replays the fetch once
(providers/oauth.py, SharedToken).

Nothing here is replayed blindly: the onboarding start is not idempotent (a second one makes a
second applicant), and a fetch sent again within 5 s is answered "too many calls". The
`requests` session (providers/http.py) retries GETs only, so a failed POST reaches the caller,
whose task retries it on its own schedule.
"""

from __future__ import annotations

import hashlib
from typing import Any

import requests

from providers.base import ProviderError, ProviderRateLimited
from providers.http import environment_read_once, retrying_session
from providers.oauth import SharedToken

USER_AGENT = "KYC-Desk/0.1 (+shareid)"
# ShareID documents a fetch token's TTL as 10 minutes and sends no expiry with it (its "Fetch
# Result" pages); ours is dropped a minute earlier (SharedToken's margin).
FETCH_TOKEN_SECONDS = 600
# The onboarding's paths, overridable (config/settings.py) where ShareID's pages disagree or are
# silent (README.md here, "Endpoints").
ONBOARDING_START_PATH = "/flow/onboarding/auth/business"
ONBOARDING_FETCH_TOKEN_PATH = "/flow/onboarding/fetch/auth/business"
ONBOARDING_FETCH_PATH = "/flow/onboarding/fetch"
# The authenticate flow's paths: the public pages agree on them (README.md here, "Endpoints").
AUTHENTICATE_START_PATH = "/flow/authenticate/auth/business"
AUTHENTICATE_FETCH_TOKEN_PATH = "/flow/authenticate/fetch/auth/business"
AUTHENTICATE_FETCH_PATH = "/flow/authenticate/fetch"


def error_from_response(response: requests.Response, what: str) -> ProviderError:
    """ShareID's `{"detail": "…"}` answers as a ProviderError: 4xx are ours to fix (permanent),
    except 429 ("too many calls", with Retry-After) and 408; 5xx are ShareID's (transient)."""
    status = response.status_code
    detail = ""
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("detail"), str):
            detail = body["detail"][:200]
    except ValueError:
        pass
    message = f"ShareID answered {status} to {what}" + (f": {detail}" if detail else "")
    if status == 429:
        retry_after = response.headers.get("Retry-After", "").strip()
        return ProviderRateLimited(message, retry_after=float(retry_after) if retry_after.isdigit() else None)
    permanent = 400 <= status < 500 and status != 408
    return ProviderError(message, permanent=permanent, status_code=status)


class FetchToken(SharedToken):
    """A fetch token of one kind (onboarding or authenticate) for one business at one API."""

    def __init__(self, *, url: str, business_hash: str, api_key: str, **options: Any):
        digest = hashlib.sha256(f"{url}\n{business_hash}".encode()).hexdigest()[:32]
        super().__init__(cache_key=f"shareid:fetch-token:{digest}", **options)
        self.url, self.business_hash, self.api_key = url, business_hash, api_key

    def issue(self) -> tuple[str, int]:
        body = {"business_hash": self.business_hash, "api_key": self.api_key}
        try:
            response = self.session.post(self.url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ProviderError(f"ShareID unreachable (fetch token): {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise error_from_response(response, "a fetch-token request")
        token = _json_object(response, "a fetch-token request").get("token")
        if not isinstance(token, str) or not token:
            raise ProviderError("ShareID answered a fetch-token request without a token")
        return token, FETCH_TOKEN_SECONDS


class ShareIDClient:
    def __init__(
        self,
        *,
        api_url: str,
        business_hash: str,
        api_key: str,
        timeout: float = 10.0,
        onboarding_start_path: str = ONBOARDING_START_PATH,
        onboarding_fetch_token_path: str = ONBOARDING_FETCH_TOKEN_PATH,
        onboarding_fetch_path: str = ONBOARDING_FETCH_PATH,
    ):
        self.api_url = api_url.rstrip("/")
        self.business_hash, self.api_key, self.timeout = business_hash, api_key, timeout
        self.http = retrying_session(USER_AGENT)
        # The poller's hot path: one small fetch per open session every 5 s, all to one host.
        environment_read_once(self.http, self.api_url)
        self.onboarding_start_url = self._url(onboarding_start_path)
        self.onboarding_fetch_url = self._url(onboarding_fetch_path)
        self.authenticate_start_url = self._url(AUTHENTICATE_START_PATH)
        self.authenticate_fetch_url = self._url(AUTHENTICATE_FETCH_PATH)
        options = {
            "business_hash": business_hash,
            "api_key": api_key,
            "session": self.http,
            "timeout": timeout,
        }
        self.onboarding_tokens = FetchToken(url=self._url(onboarding_fetch_token_path), **options)
        self.authenticate_tokens = FetchToken(url=self._url(AUTHENTICATE_FETCH_TOKEN_PATH), **options)

    def _url(self, path: str) -> str:
        return f"{self.api_url}/{path.lstrip('/')}"

    # -- starts (business credentials in the body) ------------------------------------------------
    def start_onboarding(
        self, *, reference: str, callback: str = "", session_duration: int
    ) -> dict[str, str]:
        """A new onboarding: `{"token": <single-use SDK token>, "applicant_id": …}`. Our reference is
        the only customer data sent (it comes back in the callback); document capture is on, so
        that the result carries the images we must keep (README.md here, "Images")."""
        body: dict[str, Any] = {
            "business_hash": self.business_hash,
            "api_key": self.api_key,
            "customer_data": {"reference": reference},
            "methods": ["doc", "face"],
            "callback_with_document_capture": True,
            "advanced_verification": False,
            "session_duration": session_duration,
        }
        if callback:
            body["callback"] = callback
        answer = self._start(self.onboarding_start_url, body, "the onboarding start")
        return _strings(answer, ("token", "applicant_id"), "the onboarding start")

    def start_authenticate(self, *, applicant_id: str, callback: str = "") -> dict[str, str]:
        """A new authentication of a known applicant: `{"token": <single-use SDK token>, "flow_id"}`."""
        body: dict[str, Any] = {
            "business_hash": self.business_hash,
            "api_key": self.api_key,
            "applicant_id": applicant_id,
        }
        if callback:
            body["callback"] = callback
        answer = self._start(self.authenticate_start_url, body, "the authenticate start")
        return _strings(answer, ("token", "flow_id"), "the authenticate start")

    def _start(self, url: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        try:
            response = self.http.post(url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ProviderError(f"ShareID unreachable ({what}): {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise error_from_response(response, what)
        return _json_object(response, what)

    # -- fetches (a fetch token in Authorization) ---------------------------------------------
    def fetch_onboarding(self, applicant_id: str) -> dict[str, Any] | None:
        """The onboarding's result, or None while it is not ready. Raises ProviderRateLimited when
        asked again within ShareID's 5 s."""
        if not applicant_id:
            raise ProviderError("a ShareID applicant id is missing", permanent=True)
        return self._fetch(
            self.onboarding_tokens,
            self.onboarding_fetch_url,
            {"applicant_id": applicant_id},
            ("applicant_id",),
        )

    def fetch_authenticate(self, flow_id: str) -> dict[str, Any] | None:
        """An authentication's result (`{"flow_id", "applicant_id", "reasons"}`), or None while it
        is not ready."""
        if not flow_id:
            raise ProviderError("a ShareID flow id is missing", permanent=True)
        return self._fetch(
            self.authenticate_tokens,
            self.authenticate_fetch_url,
            {"flow_id": flow_id},
            ("flow_id", "applicant_id"),
        )

    def _fetch(
        self, tokens: FetchToken, url: str, body: dict[str, str], ids: tuple[str, ...]
    ) -> dict[str, Any] | None:
        try:
            response = tokens.request("POST", url, json=body)
        except requests.RequestException as exc:
            raise ProviderError(f"ShareID unreachable (a fetch): {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise error_from_response(response, "a fetch")
        # Parsed here and the response let go: a result carries base64 images (megabytes), which
        # must not be held both as the response's bytes and as the parsed strings any longer.
        data = _json_object(response, "a fetch")
        del response
        return data if is_ready(data, ids) else None


def is_ready(data: dict[str, Any], ids: tuple[str, ...]) -> bool:
    """Whether a fetch's 200 body is a result. ShareID answers "not ready" with a 200 too
    (`{"detail": "applicant not found"}`, its "Fetch Result" pages): the body decides, never the
    status. A result names its applicant (or flow) or carries `reasons`; a body with neither is
    "not ready" when it has a `detail`, and unreadable otherwise."""
    if any(isinstance(data.get(key), str) and data[key] for key in ids) or isinstance(
        data.get("reasons"), list
    ):
        return True
    if "detail" in data:
        return False
    raise ProviderError("ShareID answered a fetch with neither a result nor a detail")


def _json_object(response: requests.Response, what: str) -> dict[str, Any]:
    try:
        data = response.json()
    except (ValueError, RecursionError) as exc:
        raise ProviderError(f"ShareID answered {what} with a body that is not JSON") from exc
    if not isinstance(data, dict):
        raise ProviderError(f"ShareID answered {what} with an unexpected JSON shape")
    return data


def _strings(answer: dict[str, Any], keys: tuple[str, ...], what: str) -> dict[str, str]:
    values = {key: answer.get(key) for key in keys}
    if not all(isinstance(value, str) and value for value in values.values()):
        raise ProviderError(f"ShareID answered {what} without {' and '.join(keys)}")
    return values  # type: ignore[return-value]
