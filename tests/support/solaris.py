"""Driving the Solaris sandbox over HTTP, as an end user on its IDnow-like page and as a test script
through its control endpoints, and reading back what the app stored (providers/solaris/README.md,
"Sandbox"). Everything here crosses a real socket to the served app.

What the sandbox holds (its documents and their bytes) is read through Solaris's own API with the
sandbox's public client credentials, not through the app's client: the evidence on disk is then
compared with what "Solaris" serves, by a reader that shares no code with the one under test.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.core.management import call_command

from kyc.models import ProviderAccount, VerificationSession
from providers.solaris.sandbox import credentials
from tests.support.servers import wait_until
from tests.support.veriff import HTTP_TIMEOUT, EndUser, csrf_token

# The identification's `url`: the sandbox's stand-in for IDnow's page.
IDNOW_PATH = re.compile(r"/sandbox/solaris/idnow/identifications/([0-9a-f]{32}cidt)$")
# The subscriptions the app needs (providers/solaris/README.md, "Webhooks").
EVENT_TYPES = {"IDENTIFICATION", "PERSON_CHANGED", "PERSON_DELETED"}


def subscribe_app() -> None:
    """What an operator runs before the first delivery: the app's subscriptions at Solaris
    (`solaris_webhooks sync`), against the live stack's sandbox, each secret stored sealed in the
    stack's database. Every transactional test empties both sides, so each test subscribes anew."""
    call_command("solaris_webhooks", "sync")


class SolarisSandbox:
    """The sandbox's control endpoints (never part of Solaris's API), and Solaris's API as a
    partner calls it."""

    def __init__(self, base_url: str):
        self.root = f"{base_url}{credentials.BASE_PATH}"
        self.base = f"{self.root}/control"
        self.http = requests.Session()
        self._token = ""

    # -- control -------------------------------------------------------------------------------
    def _post(self, path: str, payload: dict | None = None, expect: int = 200) -> dict:
        response = self.http.post(f"{self.base}/{path}", json=payload or {}, timeout=HTTP_TIMEOUT)
        assert response.status_code == expect, f"control {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def _get(self, path: str, **params: str) -> dict:
        response = self.http.get(f"{self.base}/{path}", params=params, timeout=HTTP_TIMEOUT)
        assert response.status_code == 200, f"control {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def outcome(self, identification_id: str, status: str) -> dict:
        """Walk the identification to `status` (through its pending_* state), one IDENTIFICATION
        notification per step: {"identification", "statuses"}."""
        return self._post(f"identifications/{identification_id}/outcome", {"status": status})

    def identification(self, identification_id: str) -> dict:
        """The identification as the API shows it."""
        return self._get(f"identifications/{identification_id}")["identification"]

    def device_data(self, identification_id: str) -> str | None:
        """The device fingerprint the partner passed for it (device monitoring)."""
        return self._get(f"identifications/{identification_id}")["device_data"]

    def person_changed(self, person_id: str, **fields: str) -> dict:
        """PERSON_CHANGED, after changing screening fields (screening_progress, …) if given."""
        return self._post(f"persons/{person_id}/changed", fields)["person"]

    def person_deleted(self, person_id: str) -> dict:
        """Solaris deletes the person's data and sends PERSON_DELETED."""
        return self._post(f"persons/{person_id}/deleted")

    def deliveries(self, **filters: str) -> list[dict]:
        """The delivery log (filters: event_type, entity_id, state, subscription_id), oldest first."""
        return self._get("deliveries", **filters)["deliveries"]

    def wait_settled(self, entity_id: str, timeout: float = 30) -> list[dict]:
        """The entity's notifications once none of them waits for an attempt (each delivered,
        refused, dropped… or waiting for a retry after one)."""

        def settled() -> list[dict] | None:
            rows = self.deliveries(entity_id=entity_id)
            return rows if all(r["state"] != "pending" or r["attempts"] for r in rows) else None

        return wait_until(settled, timeout=timeout, message=f"the notifications about {entity_id} tried")

    def wait_delivered(self, entity_id: str, count: int, timeout: float = 30) -> list[dict]:
        """The entity's first `count` notifications, once every one was answered 2xx."""

        def delivered() -> list[dict] | None:
            rows = self.deliveries(entity_id=entity_id)
            if len(rows) >= count and all(r["state"] == "delivered" for r in rows):
                return rows
            return None

        try:
            return wait_until(delivered, timeout=timeout, message=f"{count} notifications delivered")
        except AssertionError as exc:
            states = [
                (r["event_type"], r["state"], r["answers"][-1:]) for r in self.deliveries(entity_id=entity_id)
            ]
            raise AssertionError(f"{exc}; the log: {states}") from None

    def tokens(self) -> dict:
        """{"requests", "issued", "valid"}: calls of the token endpoint, tokens issued, still valid."""
        return self._get("tokens")

    def tokens_expire(self) -> int:
        """Every token issued so far expires now: the next API call with one gets 401."""
        return self._post("tokens/expire")["expired"]

    @contextlib.contextmanager
    def fault(self, mode: str, **options: Any) -> Iterator[dict]:
        """A fault in force for the block (error, timeout, slow_token, drop_webhooks)."""
        fault = self._post("faults", {"mode": mode, **options})["fault"]
        try:
            yield fault
        finally:
            self._post("faults", {"mode": "none"})

    # -- Solaris's API, as a partner with the sandbox's own client -------------------------------
    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One call with the test's own token, fetched again once if it was expired (401)."""
        for attempt in (1, 2):
            if not self._token:
                response = self.http.post(
                    f"{self.root}/oauth2/token",
                    data={"grant_type": "client_credentials", "scope": "partners"},
                    auth=(credentials.CLIENT_ID, credentials.CLIENT_SECRET),
                    timeout=HTTP_TIMEOUT,
                )
                assert response.status_code in (200, 201), response.text[:500]
                self._token = response.json()["access_token"]
            headers = {"Authorization": f"Bearer {self._token}"}
            response = self.http.request(
                method, f"{self.root}/v1{path}", headers=headers, timeout=HTTP_TIMEOUT, **kwargs
            )
            if response.status_code != 401 or attempt == 2:
                return response
            self._token = ""
        raise AssertionError("unreachable")

    def api_json(self, path: str) -> Any:
        response = self.api("GET", path)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def subscriptions(self) -> list[dict]:
        return self.api_json("/webhooks?page[number]=1&page[size]=100")

    def person(self, person_id: str) -> requests.Response:
        return self.api("GET", f"/persons/{person_id}")

    def documents(self, identification_id: str) -> list[dict]:
        """The identification's documents (IDnow's files), as Solaris lists them."""
        person_id = self.identification(identification_id)["person_id"]
        return self.api_json(f"/persons/{person_id}/identifications/{identification_id}/documents")

    def document_sha256(self, person_id: str, document_id: str) -> str:
        """SHA-256 of the bytes Solaris serves for one document, streamed."""
        digest = hashlib.sha256()
        response = self.api("GET", f"/persons/{person_id}/documents/{document_id}/file", stream=True)
        with response:
            assert response.status_code == 200, f"document {document_id}: {response.status_code}"
            for chunk in response.iter_content(chunk_size=256 * 1024):
                digest.update(chunk)
        return digest.hexdigest()


@dataclass
class SolarisEndUser(EndUser):
    """The end user, on our pages and on the sandbox's IDnow-like page."""

    def identify(self, hosted_url: str, outcome: str, *, provisional: bool = False) -> str:
        """Finish the video call on the IDnow page: "successful" (Identified), "failed" (Not
        identified) or "aborted"; `provisional` stops at IDnow's verdict (pending_*), Solaris's
        review still open. Returns the closing page's text."""
        assert IDNOW_PATH.search(hosted_url), hosted_url
        page = self.http.get(hosted_url, timeout=HTTP_TIMEOUT)
        assert page.status_code == 200, page.text[:500]
        assert "Video identification" in page.text
        data = {"csrfmiddlewaretoken": csrf_token(page.text), "outcome": outcome}
        if provisional:
            data["provisional"] = "on"
        done = self.http.post(hosted_url, data=data, timeout=HTTP_TIMEOUT)
        assert done.status_code == 200, done.text[:500]
        assert "Identification finished" in done.text
        return done.text

    def come_back(self, session: VerificationSession) -> requests.Response:
        """Back on our session page after IDnow (its last page has no way back: the user
        follows the link we gave them again); where it leads, redirects followed."""
        return self.http.get(self.session_page_url(session), timeout=HTTP_TIMEOUT)


# --- what the app stored ------------------------------------------------------------------------
def provider_session(session_pk: int, timeout: float = 30) -> VerificationSession:
    """The session once the worker created its identification at Solaris and stored its URL."""

    def created() -> VerificationSession | None:
        return (
            VerificationSession.objects.exclude(provider_session_id=None)
            .exclude(hosted_url="")
            .filter(pk=session_pk)
            .first()
        )

    try:
        return wait_until(created, timeout=timeout, message="the identification at Solaris")
    except AssertionError as exc:
        session = VerificationSession.objects.get(pk=session_pk)
        raise AssertionError(f"{exc}; provider error: {session.provider_error!r}") from None


def solaris_person_id(customer_id: int) -> str:
    """The Solaris person the app created for the customer (its provider account)."""
    return ProviderAccount.objects.get(customer_id=customer_id, provider="solaris").provider_person_id


def solaris_options() -> dict:
    """The Solaris provider's options in the test process (tests/providers_config.py)."""
    _dotted, options = settings.KYC_PROVIDERS["solaris"]
    return dict(options)
