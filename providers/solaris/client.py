"""HTTP client for Solaris's API (README.md here, "Authentication", "Errors", "Endpoints").

Every call carries the partner's OAuth2 token in `Authorization: Bearer` and nowhere else (never
in a URL, Solaris's "Technical setup"); the token is shared by every process through the cache,
and a 401 is answered by one refresh and one replay (providers/oauth.py). One requests.Session
with a User-Agent and a timeout on every call; urllib3 `Retry` on GET only: a POST that timed out
may have created a person or an identification, so it is never replayed here (the calling task
decides, and a second try makes a new identification, the first one left unused).
"""

from __future__ import annotations

import hashlib
import http.client
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import requests
import urllib3

from providers.base import ProviderError, ProviderRateLimited
from providers.http import retrying_session
from providers.oauth import ClientCredentials

USER_AGENT = "KYC-Desk/0.1 (+solaris)"
# The scope Solaris grants partners (its token request: grant_type=client_credentials&scope=partners).
SCOPE = "partners"


def token_cache_key(*, client_id: str, auth_url: str) -> str:
    """The shared token's cache key: one per client at one auth host (a staging and a production
    client, or the sandbox's, never share a token). Hashed: cache backends limit key characters."""
    return "solaris:" + hashlib.sha256(f"{auth_url}\n{client_id}".encode()).hexdigest()[:32]


def error_from_response(response: requests.Response) -> ProviderError:
    """Solaris's `{"errors": [{"status", "code", "title", "detail"}]}` as a ProviderError: 4xx are
    ours to fix (permanent), except 429 (too many calls) and 408; 5xx are Solaris's (transient).
    The message names the status, the code and the title, never the `detail`, which may quote
    what we sent (a name, a birth date). The HTTP status decides: the body's `status` repeats it, as
    a string in Solaris's documentation and a number in its public mock."""
    status = response.status_code
    code, title = None, ""
    try:
        data = response.json()
        first = data["errors"][0]
        code = str(first.get("code") or "") or None
        title = str(first.get("title") or "")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        pass
    words = " ".join(part for part in (code and f"{code}:", title or response.reason or "") if part)
    message = f"Solaris answered {status}" + (f": {words}" if words else "")
    if status == 429:
        retry_after = response.headers.get("Retry-After", "")
        return ProviderRateLimited(message, retry_after=float(retry_after) if retry_after.isdigit() else None)
    permanent = 400 <= status < 500 and status != 408
    return ProviderError(message[:500], permanent=permanent, status_code=status, provider_code=code)


class DocumentStream:
    """A document file's body, read into the caller's buffers (providers.base.MediaStream).

    Solaris's documents are photos and a PDF report, small next to Veriff's videos, so urllib3's
    own `read` serves (Veriff's client receives straight into the buffer for its videos). The
    length is checked: http.client does not notice a body cut short when the connection closes.
    """

    def __init__(self, response: requests.Response):
        self._raw = response.raw
        length = response.headers.get("Content-Length", "")
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        self._expected = int(length) if length.isdigit() and encoding in ("", "identity") else None
        self._received = 0

    def readinto(self, buffer: bytearray | memoryview) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._raw.read(len(view), decode_content=True)
        except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError) as exc:
            raise ProviderError(f"Solaris document stream broke: {type(exc).__name__}") from exc
        view[: len(data)] = data
        self._received += len(data)
        if not data and self._expected is not None and self._received != self._expected:
            raise ProviderError(f"Solaris document stream broke: {self._received} of {self._expected} bytes")
        return len(data)


class SolarisClient:
    def __init__(
        self, *, api_url: str, auth_url: str, client_id: str, client_secret: str, timeout: float = 10.0
    ):
        self.api_url = api_url.rstrip("/")
        self.http = retrying_session(USER_AGENT)
        self.credentials = ClientCredentials(
            token_url=f"{auth_url.rstrip('/')}/oauth2/token",
            client_id=client_id,
            client_secret=client_secret,
            scope=SCOPE,
            cache_key=token_cache_key(client_id=client_id, auth_url=auth_url.rstrip("/")),
            session=self.http,
            timeout=timeout,
        )

    # -- low level ------------------------------------------------------------------------------
    def _send(self, method: str, path: str, *, body: Any = None, stream: bool = False) -> requests.Response:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, separators=(",", ":")).encode()
        if stream:
            # Identity: photos and PDFs barely compress, and the length can then be checked.
            headers["Accept"], headers["Accept-Encoding"] = "*/*", "identity"
        try:
            response = self.credentials.request(
                method, f"{self.api_url}/{path.lstrip('/')}", data=data, headers=headers, stream=stream
            )
        except requests.RequestException as exc:
            # Connection refused, DNS, timeouts, retries exhausted: all worth trying again later.
            raise ProviderError(f"Solaris unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            error = error_from_response(response)
            response.close()
            raise error
        return response

    def _json(self, method: str, path: str, *, body: Any = None) -> Any:
        response = self._send(method, path, body=body)
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderError("Solaris answered with a body that is not JSON") from exc

    def _object(self, method: str, path: str, *, body: Any = None) -> dict[str, Any]:
        data = self._json(method, path, body=body)
        if not isinstance(data, dict):
            raise ProviderError("Solaris answered with an unexpected JSON shape")
        return data

    def _list(self, path: str) -> list[dict[str, Any]]:
        data = self._json("GET", path)
        if not isinstance(data, list):
            raise ProviderError("Solaris answered with an unexpected JSON shape")
        return [entry for entry in data if isinstance(entry, dict)]

    # -- API ------------------------------------------------------------------------------------
    def create_person(self, person: Mapping[str, Any]) -> dict[str, Any]:
        return self._object("POST", "v1/persons", body=dict(person))

    def get_person(self, person_id: str) -> dict[str, Any]:
        return self._object("GET", f"v1/persons/{_segment(person_id)}")

    def create_identification(self, person_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return self._object("POST", f"v1/persons/{_segment(person_id)}/identifications", body=dict(fields))

    def request_identification(
        self, person_id: str, identification_id: str, *, device_data: str = ""
    ) -> dict[str, Any]:
        """PATCH …/request: the identification becomes `pending` and gets its hosted `url`
        (Solaris's public mock answers 201, any 2xx is taken)."""
        body = {"device_data": device_data} if device_data else {}
        return self._object(
            "PATCH", f"{_identification_path(person_id, identification_id)}/request", body=body
        )

    def get_identification(self, person_id: str, identification_id: str) -> dict[str, Any]:
        return self._object("GET", _identification_path(person_id, identification_id))

    def get_identification_documents(self, person_id: str, identification_id: str) -> list[dict[str, Any]]:
        return self._list(f"{_identification_path(person_id, identification_id)}/documents")

    @contextmanager
    def stream_document(self, person_id: str, document_id: str) -> Iterator[DocumentStream]:
        """The document file's bytes as a stream (providers.base.MediaStream), never whole in memory."""
        response = self._send(
            "GET", f"v1/persons/{_segment(person_id)}/documents/{_segment(document_id)}/file", stream=True
        )
        try:
            yield DocumentStream(response)
        finally:
            response.close()


def _segment(value: str) -> str:
    # Ids come from Solaris and from our own records; quoted, an odd one cannot leave its segment.
    if not value:
        raise ProviderError("a Solaris id is missing", permanent=True)
    return quote(value, safe="")


def _identification_path(person_id: str, identification_id: str) -> str:
    return f"v1/persons/{_segment(person_id)}/identifications/{_segment(identification_id)}"
