import re

import pytest
import responses
from django.core.cache import cache
from rest_framework.test import APIClient

from api.services import api_key_create
from tests.providers_config import veriff_options
from tests.support.veriff import session_created_response

ALL_SCOPES = ["read", "write", "staff"]


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_key(db):
    def make(*scopes, name="test client"):
        _, raw = api_key_create(name=name, scopes=list(scopes))
        return raw

    return make


@pytest.fixture
def api(make_key):
    """A client with a read+write key (the usual backend integration)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key('read', 'write')}")
    return client


@pytest.fixture
def staff_api(make_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key(*ALL_SCOPES)}")
    return client


def veriff_created(settings, session_id="11111111-2222-4333-8444-555555555555"):
    return session_created_response(session_id)


@pytest.fixture
def veriff(settings):
    """Veriff's API at the HTTP boundary: creating a session succeeds."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(f"{veriff_options(settings).api_url}/sessions", **veriff_created(settings))
        mock.get(re.compile(re.escape(veriff_options(settings).api_url) + r"/.*"), json={"status": "success"})
        yield mock
