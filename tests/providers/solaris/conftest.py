"""Fixtures for the app's Solaris client and provider, driven against the real sandbox in-process.

`solaris_sandbox` is the bridge: every request our code sends to the sandbox's URLs (the Solaris
client's base URL, `<KYC_PUBLIC_URL>/sandbox/solaris/`) is caught at the HTTP boundary by
`responses` and handed to Django's test client, so that the sandbox's real views answer it, with
its real tokens, state machine, documents and errors[]. Calls made from other threads (the
concurrent token test) are served by the test's own thread (`solaris_sandbox.serve`), where the
test database is.

The sandbox's control endpoints are called straight through the test client
(`solaris_sandbox.control`). Everything is handed out through fixtures, so other test packages
(the webhooks tests) can use them by importing this module's fixtures into their conftest.
"""

from __future__ import annotations

import json
import queue
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import responses

from providers.solaris.provider import SolarisProvider
from providers.solaris.sandbox.tasks import deliver_notification
from tests.providers_config import provider_options

# Headers Django's test client takes as arguments of their own, not as HTTP_* headers.
_OWN_ARGUMENTS = {"content-type", "content-length"}


class SandboxBridge:
    """The sandbox reached over `responses`: a callback that runs each request through Django's
    test client and gives back its answer."""

    def __init__(self, client, base_url: str):
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.prefix = urlsplit(self.base_url).path
        self.calls: list[tuple[str, str, dict[str, str]]] = []  # method, URL, headers of each request
        self._main = threading.get_ident()
        self._inbox: queue.Queue = queue.Queue()

    # -- the HTTP boundary --------------------------------------------------------------------
    def __call__(self, request) -> tuple[int, dict[str, str], bytes]:
        if threading.get_ident() == self._main:
            return self._answer(request)
        # Another thread: the test's thread answers it (the test database lives there).
        box: dict[str, Any] = {}
        done = threading.Event()
        self._inbox.put((request, box, done))
        if not done.wait(30):
            raise TimeoutError("the test thread did not serve the sandbox call")
        if "error" in box:
            raise box["error"]
        return box["answer"]

    def serve(self, threads: list[threading.Thread]) -> None:
        """Answer the sandbox calls of `threads` until they have all finished."""
        while any(thread.is_alive() for thread in threads) or not self._inbox.empty():
            try:
                request, box, done = self._inbox.get(timeout=0.01)
            except queue.Empty:
                continue
            try:
                box["answer"] = self._answer(request)
            except Exception as exc:  # handed to the calling thread, which raises it
                box["error"] = exc
            done.set()

    def _answer(self, request) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(request.url)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _OWN_ARGUMENTS}
        self.calls.append((request.method, request.url, dict(request.headers)))
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        response = self.client.generic(
            request.method,
            parts.path + (f"?{parts.query}" if parts.query else ""),
            body,
            content_type=request.headers.get("Content-Type", ""),
            headers=headers,
        )
        content = b"".join(response.streaming_content) if response.streaming else response.content
        answer_headers = {k: v for k, v in response.items() if k.lower() != "content-length"}
        if response.has_header("Content-Length"):
            answer_headers["Content-Length"] = response["Content-Length"]
        return response.status_code, answer_headers, content

    # -- the sandbox's control endpoints ------------------------------------------------------
    def control(self, method: str, path: str, data: Any = None) -> Any:
        body = b"" if data is None else json.dumps(data).encode()
        response = self.client.generic(
            method, f"{self.prefix}/control{path}", body, content_type="application/json"
        )
        assert response.status_code < 400, (path, response.status_code, response.content)
        return response.json()

    def outcome(self, identification_id: str, status: str) -> dict[str, Any]:
        return self.control("POST", f"/identifications/{identification_id}/outcome", {"status": status})

    def token_requests(self) -> int:
        return self.control("GET", "/tokens")["requests"]

    def expire_tokens(self) -> None:
        self.control("POST", "/tokens/expire")

    def fault(self, **fault: Any) -> None:
        self.control("POST", "/faults", fault)

    def document_bytes(self, person_id: str, document_id: str) -> bytes:
        """A document's bytes as the sandbox holds them (read from its own records)."""
        from providers.solaris.sandbox.models import Document

        return bytes(Document.objects.get(id=document_id, identification__person_id=person_id).content)


@pytest.fixture
def solaris_sandbox(client, settings) -> Iterator[SandboxBridge]:
    """The sandbox behind the Solaris client's URLs, in-process (see the module's docstring)."""
    settings.SIM_TIME_SCALE = 1.0
    settings.SOLARIS_SANDBOX_TOKEN_SECONDS = 3599
    base_url = provider_options(settings, "solaris")["api_url"]
    bridge = SandboxBridge(client, base_url)
    conf = deliver_notification.app.conf
    saved = conf.task_always_eager
    conf.task_always_eager = True  # the sandbox's own tasks in-process, as in development
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, re.compile(re.escape(bridge.base_url) + r"/.*"), callback=bridge)
        for method in (responses.POST, responses.PATCH, responses.PUT, responses.DELETE):
            mock.add_callback(method, re.compile(re.escape(bridge.base_url) + r"/.*"), callback=bridge)
        bridge.mock = mock
        yield bridge
    conf.task_always_eager = saved


@pytest.fixture
def solaris_provider(settings, solaris_sandbox) -> SolarisProvider:
    """A SolarisProvider as the settings build it, on the bridged sandbox."""
    return SolarisProvider(**provider_options(settings, "solaris"))


@pytest.fixture
def solaris_new_provider(settings, solaris_sandbox) -> Callable[[], SolarisProvider]:
    """Another SolarisProvider of the same client: another process, sharing the cache."""
    return lambda: SolarisProvider(**provider_options(settings, "solaris"))
