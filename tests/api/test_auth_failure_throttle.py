"""Failed authentications are throttled per source address: a client guessing API keys gets 429
with Retry-After once over KYC_API_AUTH_FAILURE_RATE, before its keys are even checked (a good key
guessed during the block is not told apart), while other addresses carry on."""

import time

import pytest
from rest_framework.test import APIClient

from api.throttling import FailedAuthenticationThrottle

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/"


@pytest.fixture(autouse=True)
def _three_failures_a_minute(settings):
    settings.KYC_API_AUTH_FAILURE_RATE = "3/minute"


def from_address(address: str, key: str | None = None, **extra) -> APIClient:
    client = APIClient(REMOTE_ADDR=address, **extra)
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_guessing_keys_is_throttled_per_address(make_key):
    good = make_key("read")
    guesser = from_address("203.0.113.7", "not-a-key")
    for _ in range(3):
        assert guesser.get(URL).status_code == 401
    blocked = guesser.get(URL)
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "rate_limited"
    assert 0 < int(blocked["Retry-After"]) <= 60
    # The right key from the blocked address is refused too: a block tells nothing about keys.
    assert from_address("203.0.113.7", good).get(URL).status_code == 429
    # Another address is not blocked, with a good key or a bad one.
    assert from_address("198.51.100.2", good).get(URL).status_code == 200
    assert from_address("198.51.100.2", "not-a-key").get(URL).status_code == 401


def test_a_forged_forwarded_for_header_does_not_reset_the_count(make_key):
    for n in range(4):
        client = from_address("203.0.113.8", "not-a-key", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
        response = client.get(URL)
    assert response.status_code == 429


def test_malformed_authorization_headers_count_as_failures():
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    client.credentials(HTTP_AUTHORIZATION="Api-Key two parts")
    for _ in range(3):
        assert client.get(URL).status_code == 401
    assert client.get(URL).status_code == 429


def test_good_keys_and_no_credentials_spend_nothing(make_key):
    good = make_key("read")
    client = from_address("203.0.113.10", good)
    for _ in range(5):
        assert client.get(URL).status_code == 200
    anonymous = from_address("203.0.113.10")
    for _ in range(5):
        assert anonymous.get(URL).status_code == 401  # no credential offered: nothing guessed
    assert from_address("203.0.113.10", "not-a-key").get(URL).status_code == 401


def test_the_block_ends_with_the_window(make_key, monkeypatch):
    guesser = from_address("203.0.113.11", "not-a-key")
    for _ in range(4):
        guesser.get(URL)
    assert guesser.get(URL).status_code == 429
    later = time.time() + 61
    monkeypatch.setattr(FailedAuthenticationThrottle, "timer", staticmethod(lambda: later))
    assert from_address("203.0.113.11", make_key("read")).get(URL).status_code == 200
