"""Driving the ShareID sandbox over HTTP, as an end user on its SDK page and as a test script through
its control endpoints, and reading back what the app stored (providers/shareid/README.md,
"Sandbox"). Everything here crosses a real socket to the served app.

The images "ShareID" holds are read from the sandbox's own rows (its captures), not through the
app's client: the evidence on disk is then compared with the sandbox's bytes by a reader that
shares no code with the one under test, and without a fetch of ours that would count against
ShareID's 5-second rule.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import requests

from api.services import api_key_create
from kyc.models import Customer, Media, VerificationSession
from providers.shareid.sandbox import credentials
from providers.shareid.sandbox.models import Capture
from tests.support.servers import wait_until
from tests.support.veriff import (
    HTTP_TIMEOUT,
    EndUser,
    csrf_token,
    evidence_files,
    file_sha256,
    media_path,
    media_stored,
)

# The SDK page the app sends the end user to (SHAREID_SDK_URL's sandbox default).
SDK_PATH = re.compile(r"/sandbox/shareid/sdk/\?token=([^&]+)")
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="(token|page_key|return_url)" value="([^"]*)"')
# Seconds from the end user's last step to the decision: the analysis, a poll interval or two.
DECIDED_WITHIN = 40
# The media contexts of ShareID's four images (providers/shareid/README.md, "Images").
IMAGE_CONTEXTS = {
    "doc_front": "document-front",
    "doc_back": "document-back",
    "face_face": "face",
    "face_doc": "document-face",
}


def api_start(base_url: str, ref: str, provider: str = "shareid") -> tuple[Customer, dict]:
    """A customer created and a verification started by the business's backend, over HTTP."""
    _, key = api_key_create(name=f"it {ref}", scopes=["read", "write"])
    auth = {"Authorization": f"Api-Key {key}"}
    created = requests.post(
        f"{base_url}/api/v1/customers/",
        json={
            "external_ref": ref,
            "first_name": "Camille",
            "last_name": "Sandbox",
            "email": f"{ref.lower()}@example.org",
            "date_of_birth": "1990-04-01",
            "country": "FR",
        },
        headers=auth,
        timeout=HTTP_TIMEOUT,
    )
    assert created.status_code == 201, created.text
    customer = Customer.objects.get(external_ref=ref)
    started = requests.post(
        f"{base_url}/api/v1/customers/{customer.pk}/verifications/",
        json={"provider": provider},
        headers=auth,
        timeout=HTTP_TIMEOUT,
    )
    assert started.status_code == 201, started.text
    assert started.json()["provider"] == provider
    return customer, started.json()


def onboarded(session_pk: int, timeout: float = 30) -> VerificationSession:
    """The session once the worker started its onboarding at ShareID (an applicant id)."""

    def created() -> VerificationSession | None:
        return VerificationSession.objects.exclude(provider_session_id=None).filter(pk=session_pk).first()

    try:
        return wait_until(created, timeout=timeout, message="the onboarding at ShareID")
    except AssertionError as exc:
        session = VerificationSession.objects.get(pk=session_pk)
        raise AssertionError(f"{exc}; provider error: {session.provider_error!r}") from None


def sandbox_image_sha256(applicant_id: str) -> dict[str, str]:
    """SHA-256 of each image the sandbox holds for the applicant, by our media id
    (`<applicant_id>:<field>`)."""
    return {
        f"{applicant_id}:{capture.kind}": hashlib.sha256(bytes(capture.content)).hexdigest()
        for capture in Capture.objects.filter(applicant_id=applicant_id)
    }


class ShareIDSandbox:
    """The sandbox's control endpoints (never part of ShareID's API)."""

    def __init__(self, base_url: str):
        self.root = f"{base_url}{credentials.BASE_PATH}"
        self.base = f"{self.root}/control"
        self.http = requests.Session()

    def _post(self, path: str, payload: dict | None = None, expect: int = 200) -> dict:
        response = self.http.post(f"{self.base}/{path}", json=payload or {}, timeout=HTTP_TIMEOUT)
        assert response.status_code == expect, f"control {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def _get(self, path: str, **params: str) -> dict:
        response = self.http.get(f"{self.base}/{path}", params=params, timeout=HTTP_TIMEOUT)
        assert response.status_code == 200, f"control {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def complete(self, applicant_id: str, reasons: list[str], *, delay: float | None = None) -> dict:
        """The onboarding's result (`[]` approves), ready after the analysis delay or `delay`."""
        payload: dict[str, Any] = {"reasons": reasons}
        if delay is not None:
            payload["delay"] = delay
        return self._post(f"applicants/{applicant_id}/complete", payload)

    def applicant(self, applicant_id: str) -> dict:
        return self._get(f"applicants/{applicant_id}")

    def callbacks(self, applicant_id: str) -> list[dict]:
        return self._get("callbacks", applicant_id=applicant_id)["callbacks"]

    def stats(self) -> dict[str, int]:
        return self._get("stats")

    def faults(self, **switches: Any) -> dict:
        return self._post("faults", switches)

    def wait_callback_answered(self, applicant_id: str, timeout: float = 30) -> dict:
        """The applicant's first callback attempt, once it was made."""

        def attempted() -> dict | None:
            rows = self.callbacks(applicant_id)
            return rows[0] if rows else None

        return wait_until(attempted, timeout=timeout, message=f"a callback about {applicant_id}")


@dataclass
class ShareIDEndUser(EndUser):
    """The end user, on our pages and on the sandbox's SDK page."""

    def finish_sdk(self, sdk_url: str, outcome: str, reasons: tuple[str, ...] = ()) -> str:
        """Open the SDK page (spending its single-use token) and press "approve", "reject" (with
        `reasons` ticked) or "leave"; returns where the page sends the browser (our return page)."""
        assert SDK_PATH.search(sdk_url), sdk_url
        page = self.http.get(sdk_url, timeout=HTTP_TIMEOUT)
        assert page.status_code == 200, page.text[:500]
        data: dict[str, Any] = {name: html.unescape(value) for name, value in HIDDEN_INPUT.findall(page.text)}
        assert {"token", "page_key"} <= set(data), "the SDK page has no token or page key"
        data.update(csrfmiddlewaretoken=csrf_token(page.text), outcome=outcome, reasons=list(reasons))
        done = self.http.post(
            urljoin(sdk_url, "finish"), data=data, allow_redirects=False, timeout=HTTP_TIMEOUT
        )
        assert done.status_code == 302, done.text[:500]
        return urljoin(done.url, done.headers["Location"])


def start_and_launch(
    live_stack: Any, shareid_user: ShareIDEndUser, ref: str
) -> tuple[VerificationSession, str]:
    """A verification started over the API, the onboarding made at ShareID by the worker, and the
    end user's first visit of our flow page: where it sends them (the SDK page)."""
    _, started = api_start(live_stack.base_url, ref)
    session = onboarded(VerificationSession.objects.get(reference=started["id"]).pk)
    # The API shows the applicant id: the id the sandbox's control endpoints take.
    assert started["provider_session_id"] in ("", None, session.provider_session_id)
    sdk_url = shareid_user.wait_for_hosted_url(session)
    return session, sdk_url


def assert_evidence(session: VerificationSession, applicant_ids: list[str]) -> list[Media]:
    """Every image of every onboarding stored once, on disk, with the SHA-256 of the sandbox's
    bytes, and nothing else in the session's evidence folder."""
    expected = {}
    for applicant_id in applicant_ids:
        held = sandbox_image_sha256(applicant_id)
        assert len(held) == 4, f"the sandbox holds {sorted(held)} for {applicant_id}"
        expected.update(held)
    rows = media_stored(session, set(expected))
    for media in rows:
        path = media_path(media)
        assert path.is_file(), f"{media.provider_media_id}: {path} is missing"
        on_disk = file_sha256(path)
        assert on_disk == media.sha256, f"{media.provider_media_id}: the recorded SHA-256 is not the file's"
        assert on_disk == expected[media.provider_media_id], f"{media.provider_media_id}: not ShareID's"
        assert media.context == IMAGE_CONTEXTS[media.provider_media_id.rpartition(":")[2]]
        assert media.proven_type in ("image/jpeg", "image/png"), media.proven_type
    assert evidence_files(session) == sorted(m.file.name for m in rows)
    return rows
