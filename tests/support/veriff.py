"""Driving the Veriff sandbox over HTTP, as an end user and as a test script, and reading back what
the app stored. Everything here crosses a real socket to the served app."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import requests
from django.conf import settings

from kyc.links import start_url
from kyc.models import Media, VerificationSession
from providers.base import MediaItem
from providers.registry import get_provider
from tests.providers_config import veriff_signature_headers
from tests.support.servers import wait_until

HTTP_TIMEOUT = 15
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SESSION_PATH = re.compile(r"/verify/s/([0-9a-f-]{36})/$")


def csrf_token(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "the page has no CSRF token in a form"
    return match.group(1)


def _absolute(response: requests.Response) -> str:
    return urljoin(response.url, response.headers["Location"])


@dataclass
class EndUser:
    """The end user's browser, without a browser: cookies kept, every redirect looked at."""

    http: requests.Session

    def start(self, customer_id: int) -> VerificationSession:
        """Open the start link, press "Start verification"; the session the app created."""
        link = start_url(customer_id)
        page = self.http.get(link, timeout=HTTP_TIMEOUT)
        assert page.status_code == 200, page.text[:500]
        assert "Start verification" in page.text
        response = self.http.post(
            link,
            data={"csrfmiddlewaretoken": csrf_token(page.text)},
            allow_redirects=False,
            timeout=HTTP_TIMEOUT,
        )
        assert response.status_code == 302, response.text[:500]
        match = SESSION_PATH.search(response.headers["Location"])
        assert match, f"start redirected to {response.headers['Location']}"
        return VerificationSession.objects.get(reference=match.group(1))

    def session_page_url(self, session: VerificationSession) -> str:
        return f"{settings.KYC_PUBLIC_URL}/verify/s/{session.reference}/"

    def wait_for_hosted_url(self, session: VerificationSession, timeout: float = 30) -> str:
        """The session page shows "preparing…" until the provider session exists, then
        redirects to the provider's hosted flow: follow it as the page's refresh would."""

        def redirected() -> str | None:
            response = self.http.get(
                self.session_page_url(session), allow_redirects=False, timeout=HTTP_TIMEOUT
            )
            if response.status_code == 302:
                return _absolute(response)
            assert response.status_code == 200, f"session page answered {response.status_code}"
            return None

        return wait_until(redirected, timeout=timeout, message="the session page to redirect to the provider")

    def open_hosted(self, hosted_url: str) -> str:
        page = self.http.get(hosted_url, timeout=HTTP_TIMEOUT)
        assert page.status_code == 200, page.text[:500]
        assert "Verify your identity" in page.text
        return page.text

    def choose(self, hosted_url: str, outcome: str, reason_code: int | None = None) -> str:
        """Press one outcome button on the hosted page; returns where the provider sends us."""
        page = self.open_hosted(hosted_url)
        data = {"csrfmiddlewaretoken": csrf_token(page), "outcome": outcome}
        if reason_code is not None:
            data["reason_code"] = str(reason_code)
        response = self.http.post(hosted_url, data=data, allow_redirects=False, timeout=HTTP_TIMEOUT)
        assert response.status_code == 302, response.text[:500]
        return _absolute(response)


class SandboxControl:
    """The sandbox's control endpoints (never part of Veriff's API)."""

    def __init__(self, base_url: str):
        self.base = f"{base_url}/sandbox/veriff/control"
        self.http = requests.Session()

    def _post(self, path: str, payload: dict | None = None) -> dict:
        response = self.http.post(f"{self.base}/{path}", json=payload or {}, timeout=HTTP_TIMEOUT)
        assert response.status_code == 200, f"control {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def decide(self, session_id: str, status: str, reason_code: int | None = None) -> dict:
        payload: dict = {"status": status}
        if reason_code is not None:
            payload["reasonCode"] = reason_code
        return self._post(f"sessions/{session_id}/decision", payload)

    def expire(self, session_id: str) -> dict:
        return self._post(f"sessions/{session_id}/expire")

    def deliveries(self, session_id: str) -> list[dict]:
        response = self.http.get(
            f"{self.base}/webhooks", params={"session": session_id}, timeout=HTTP_TIMEOUT
        )
        assert response.status_code == 200, response.text[:500]
        return response.json()["deliveries"]

    def delivery(self, session_id: str, delivery_id: int) -> dict:
        return next(d for d in self.deliveries(session_id) if d["id"] == delivery_id)

    def redeliver(self, delivery_id: int) -> dict:
        return self._post(f"webhooks/{delivery_id}/redeliver")["delivery"]

    def wait_delivered(self, session_id: str, count: int, timeout: float = 30) -> list[dict]:
        """The session's first `count` webhooks, once every one of them was answered 2xx."""

        def delivered() -> list[dict] | None:
            rows = self.deliveries(session_id)
            if len(rows) >= count and all(r["deliveredAt"] for r in rows):
                return rows
            return None

        return wait_until(delivered, timeout=timeout, message=f"{count} webhooks delivered")


# --- what the provider holds --------------------------------------------------------------------
def provider_media(provider_session_id: str) -> list[MediaItem]:
    """The session's media as Veriff's API lists it (every attempt), through our own client."""
    return get_provider("veriff").list_media(provider_session_id)


def provider_media_sha256(provider_media_id: str) -> str:
    """SHA-256 of the bytes the provider serves for one media id, streamed."""
    digest = hashlib.sha256()
    buffer = bytearray(1024 * 1024)
    item = MediaItem(provider_media_id=provider_media_id, context="")
    with get_provider("veriff").open_media(item) as stream:
        while count := stream.readinto(buffer):
            digest.update(memoryview(buffer)[:count])
    return digest.hexdigest()


def signed_webhook(payload: dict | bytes) -> tuple[bytes, dict[str, str]]:
    """A webhook body and headers signed as Veriff signs them for our integration."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
    headers = veriff_signature_headers(settings, body)
    headers["Content-Type"] = "application/json"
    return body, headers


# --- what the app stored ------------------------------------------------------------------------
def session_in(session_pk: int, status: str, timeout: float = 30) -> VerificationSession:
    def reached() -> VerificationSession | None:
        session = VerificationSession.objects.select_related("customer").get(pk=session_pk)
        return session if session.status == status else None

    try:
        return wait_until(reached, timeout=timeout, message=f"session status {status!r}")
    except AssertionError as exc:
        session = VerificationSession.objects.get(pk=session_pk)
        raise AssertionError(f"{exc}; the session is {session.status!r}") from None


def media_stored(session: VerificationSession, expected_ids: set[str], timeout: float = 45) -> list[Media]:
    """Wait until the session has exactly these media, every one stored; return the rows."""

    def rows() -> list[Media]:
        return list(Media.objects.filter(session=session).select_related("attempt"))

    def done() -> bool:
        current = rows()
        return {m.provider_media_id for m in current} == expected_ids and all(
            m.state == Media.State.STORED for m in current
        )

    try:
        wait_until(done, timeout=timeout, message=f"{len(expected_ids)} media stored")
    except AssertionError as exc:
        states = [(m.provider_media_id, m.state, m.error) for m in rows()]
        raise AssertionError(f"{exc}; media rows: {states}") from None
    return rows()


def media_path(media: Media) -> Path:
    return Path(settings.MEDIA_ROOT) / media.file.name


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def evidence_files(session: VerificationSession) -> list[str]:
    """Every file under the session's evidence folder, relative to MEDIA_ROOT."""
    root = Path(settings.MEDIA_ROOT)
    folder = root / "evidence" / str(session.reference)
    return sorted(str(p.relative_to(root)) for p in folder.rglob("*") if p.is_file())


def session_created_response(session_id: str = "11111111-2222-4333-8444-555555555555") -> dict:
    """Veriff's signed 201 answer to POST /sessions, as keyword arguments for `responses`: for tests
    that stand in for Veriff at the HTTP boundary (outages, refusals) instead of the sandbox."""
    body = json.dumps(
        {
            "status": "success",
            "verification": {
                "id": session_id,
                "url": f"https://magic.veriff.me/v/token-{session_id}",
                "vendorData": "x",
                "host": "https://magic.veriff.me",
                "status": "created",
                "sessionToken": "t",
            },
        }
    ).encode()
    headers = veriff_signature_headers(settings, body)
    return {"body": body, "status": 201, "content_type": "application/json", "headers": headers}
