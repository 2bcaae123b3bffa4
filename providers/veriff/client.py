"""HTTP client for Veriff's API (signed requests and responses: signing.py).

One shared requests.Session per client with a User-Agent, a timeout on every call, and urllib3
`Retry` on idempotent calls only (GET): a POST that timed out may have created a session, so it is
never replayed here; the calling task decides.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests
import urllib3

from providers.base import ProviderError
from providers.http import retrying_session
from providers.veriff import signing

USER_AGENT = "KYC-Desk/0.1 (+veriff)"


def _error_from_response(response: requests.Response) -> ProviderError:
    code = None
    message = response.reason or ""
    try:
        data = response.json()
        code = str(data.get("code") or "") or None
        message = data.get("message") or message
    except (ValueError, AttributeError):
        pass
    # 408/429 and 5xx are the provider's trouble and pass; other 4xx are ours and will not.
    permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
    return ProviderError(
        f"Veriff answered {response.status_code}: {message}"[:500],
        permanent=permanent,
        status_code=response.status_code,
        provider_code=code,
    )


class MediaStream:
    """A media response's body, received into the caller's buffers (providers.base.MediaStream).

    requests' `iter_content` (and urllib3's own `readinto`) make a new bytes object per chunk and,
    for `readinto`, copy it again: a large video becomes many fresh allocations whose pages the
    kernel maps afresh each time, a large share of the receiving CPU (benchmarks/media_streaming.py).
    http.client's `readinto`, under urllib3, receives straight into the buffer. It is used when
    the body needs no decoding (we ask for identity; a server may still compress), else urllib3's.
    http.client does not check that the body was as long as announced; this does.
    """

    def __init__(self, response: requests.Response):
        raw = response.raw
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        # `_fp`: urllib3's underlying http.client response (urllib3 2.x); absent, urllib3's path.
        direct = getattr(raw, "_fp", None)
        self._direct = direct if encoding in ("", "identity") and hasattr(direct, "readinto") else None
        self._raw = raw
        length = response.headers.get("Content-Length", "")
        self._expected = int(length) if length.isdigit() and self._direct is not None else None
        self._received = 0

    def readinto(self, buffer: bytearray | memoryview) -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        try:
            while filled < len(view):
                count = self._read_into(view[filled:])
                if not count:
                    break
                filled += count
        except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError) as exc:
            # Reset, timeout, truncated chunk: the transfer broke; another attempt may finish it.
            raise ProviderError(f"Veriff media stream broke: {type(exc).__name__}", permanent=False) from exc
        self._received += filled
        if filled < len(view) and self._expected is not None and self._received != self._expected:
            raise ProviderError(
                f"Veriff media stream broke: {self._received} of {self._expected} bytes", permanent=False
            )
        return filled

    def _read_into(self, view: memoryview) -> int:
        if self._direct is not None:
            return self._direct.readinto(view)
        data = self._raw.read(len(view), decode_content=True)
        view[: len(data)] = data
        return len(data)


class VeriffClient:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        secret: str,
        scheme: str,
        timeout: float = 10.0,
        accepted_secrets: tuple[str, ...] = (),
    ):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.secret = secret
        # Secrets a response signature may be made with (current first; previous during rotation).
        self.accepted_secrets = accepted_secrets or (secret,)
        self.scheme = scheme
        self.timeout = (min(5.0, timeout), timeout)
        self.http = retrying_session(USER_AGENT)
        # requests reads the proxy and CA-bundle environment variables (HTTPS_PROXY, NO_PROXY,
        # REQUESTS_CA_BUNDLE, …) again on every call, a large part of a small call's CPU
        # (benchmarks/decision_latency.py). Every call goes to one base URL and the process
        # environment does not change, so they are read once, here, with the same rules (~/.netrc is
        # no longer read: Veriff's calls carry their own signed headers).
        from_env = self.http.merge_environment_settings(self.base_url, {}, None, None, None)
        self.http.proxies.update(from_env["proxies"])
        self.http.verify = from_env["verify"]
        self.http.cert = from_env["cert"]
        self.http.trust_env = False

    # -- low level ------------------------------------------------------------------------------
    def _headers(self, payload: bytes) -> dict[str, str]:
        headers = signing.signature_headers(payload, self.api_key, self.secret, self.scheme)
        headers["Content-Type"] = "application/json"
        return headers

    def _send(
        self,
        method: str,
        path: str,
        *,
        payload: bytes,
        body: bytes | None = None,
        stream: bool = False,
        accept_encoding: str | None = None,
    ) -> requests.Response:
        headers = self._headers(payload)
        if accept_encoding:
            headers["Accept-Encoding"] = accept_encoding
        try:
            response = self.http.request(
                method,
                f"{self.base_url}/{path.lstrip('/')}",
                data=body,
                headers=headers,
                timeout=self.timeout,
                stream=stream,
            )
        except requests.RequestException as exc:
            # Connection refused, DNS, timeouts, retries exhausted: all worth trying again later.
            raise ProviderError(f"Veriff unreachable: {type(exc).__name__}", permanent=False) from exc
        if response.status_code >= 400:
            error = _error_from_response(response)
            response.close()
            raise error
        return response

    def _json(self, method: str, path: str, *, payload: bytes, body: bytes | None = None) -> dict[str, Any]:
        response = self._send(method, path, payload=payload, body=body)
        raw = response.content
        # Veriff signs its responses (its documentation: "Veriff also signs its responses"); a present but
        # wrong signature means the answer did not come from our integration.
        header = signing.HEADER[self.scheme]
        if header in response.headers and not signing.verify_any(
            raw, response.headers, self.accepted_secrets, self.scheme
        ):
            raise ProviderError("Veriff response signature mismatch", permanent=False)
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ProviderError("Veriff answered with a body that is not JSON", permanent=False) from exc
        if not isinstance(data, dict):
            raise ProviderError("Veriff answered with an unexpected JSON shape", permanent=False)
        return data

    def _get(self, path: str, signed_id: str) -> dict[str, Any]:
        # GET requests are signed over the id in the path (signing.py).
        return self._json("GET", path, payload=signed_id.encode())

    # -- API ------------------------------------------------------------------------------------
    def create_session(self, verification: Mapping[str, Any]) -> dict[str, Any]:
        body = json.dumps({"verification": verification}, separators=(",", ":")).encode()
        return self._json("POST", "sessions", payload=body, body=body)

    def update_session_status(self, session_id: str, status: str) -> dict[str, Any]:
        body = json.dumps({"verification": {"status": status}}, separators=(",", ":")).encode()
        return self._json("PATCH", f"sessions/{session_id}", payload=body, body=body)

    def get_decision(self, session_id: str) -> dict[str, Any]:
        return self._get(f"sessions/{session_id}/decision", session_id)

    def get_attempts(self, session_id: str) -> dict[str, Any]:
        return self._get(f"sessions/{session_id}/attempts", session_id)

    def get_session_media(self, session_id: str) -> dict[str, Any]:
        return self._get(f"sessions/{session_id}/media", session_id)

    def get_attempt_media(self, attempt_id: str) -> dict[str, Any]:
        return self._get(f"attempts/{attempt_id}/media", attempt_id)

    def get_person(self, session_id: str) -> dict[str, Any]:
        return self._get(f"sessions/{session_id}/person", session_id)

    @contextmanager
    def stream_media(self, media_id: str) -> Iterator[MediaStream]:
        """The media file's bytes as a stream (providers.base.MediaStream), never whole in memory."""
        # Identity: photos and videos do not compress, and undecoded bytes can be received
        # straight into the caller's buffers (MediaStream.readinto).
        response = self._send(
            "GET", f"media/{media_id}", payload=media_id.encode(), stream=True, accept_encoding="identity"
        )
        try:
            yield MediaStream(response)
        finally:
            response.close()
