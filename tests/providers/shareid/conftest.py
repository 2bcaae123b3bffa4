"""Fixtures for ShareID's client and provider at the HTTP boundary (`responses`; support.py), and
`shareid_sandbox`: the real sandbox behind the client's URLs, in-process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from providers.shareid.provider import ShareIDProvider
from providers.shareid.sandbox.tasks import send_callback
from tests.providers.shareid.support import provider
from tests.providers.solaris.conftest import SandboxBridge
from tests.providers_config import provider_options


@pytest.fixture
def shareid_api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def shareid() -> ShareIDProvider:
    return provider()


class ShareIDSandboxBridge(SandboxBridge):
    """ShareID's sandbox behind the client's URLs, in-process: the Solaris bridge's shape, with
    ShareID's control endpoints."""

    def complete(self, applicant_id: str, reasons: list[str] | None = None, **fields: Any) -> dict[str, Any]:
        """`POST control/applicants/<id>/complete` (`[]` approves), ready at once unless `delay`."""
        body = {"reasons": reasons or [], "delay": 0, **fields}
        return self.control("POST", f"/applicants/{applicant_id}/complete", body)

    def applicant(self, applicant_id: str) -> dict[str, Any]:
        return self.control("GET", f"/applicants/{applicant_id}")

    def stats(self) -> dict[str, int]:
        return self.control("GET", "/stats")


@pytest.fixture
def shareid_sandbox(client, settings) -> Iterator[ShareIDSandboxBridge]:
    """The ShareID sandbox behind the configured provider's API URL, answered by its real views
    through Django's test client (tests/providers/solaris/conftest.py, the bridge). Other test
    packages import this fixture into their conftest or module."""
    settings.SIM_TIME_SCALE = 1.0
    bridge = ShareIDSandboxBridge(client, provider_options(settings, "shareid")["api_url"])
    conf = send_callback.app.conf
    saved = conf.task_always_eager
    conf.task_always_eager = True  # the sandbox's callbacks in-process, as in development
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in (responses.GET, responses.POST):
            mock.add_callback(method, re.compile(re.escape(bridge.base_url) + r"/.*"), callback=bridge)
        bridge.mock = mock
        yield bridge
    conf.task_always_eager = saved
