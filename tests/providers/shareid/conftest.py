"""Fixtures for ShareID's client and provider at the HTTP boundary (`responses`; support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from providers.shareid.provider import ShareIDProvider
from tests.providers.shareid.support import provider


@pytest.fixture
def shareid_api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def shareid() -> ShareIDProvider:
    return provider()
