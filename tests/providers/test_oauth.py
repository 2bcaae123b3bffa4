"""OAuth2 client-credentials tokens shared through the cache (providers/oauth.py), at the HTTP
boundary."""

from __future__ import annotations

import threading

import pytest
import responses

from providers.base import ProviderError
from providers.oauth import ClientCredentials

TOKEN_URL = "https://auth.example/oauth2/token"
API = "https://api.example/v1/thing"


def _source() -> ClientCredentials:
    return ClientCredentials(
        token_url=TOKEN_URL, client_id="id", client_secret="secret", scope="partners", cache_key="fake"
    )


def _tokens(mock, *names: str) -> None:
    for name in names:
        mock.post(
            TOKEN_URL, json={"access_token": name, "expires_in": 3599, "token_type": "bearer"}, status=201
        )


def _token_calls(mock) -> int:
    return sum(1 for call in mock.calls if call.request.url == TOKEN_URL)


def test_many_threads_asking_at_once_fetch_one_token():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        _tokens(mock, "t1", "t2")
        start, got = threading.Barrier(8), []

        def ask():
            start.wait()
            got.append(_source().token())

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert got == ["t1"] * 8
        assert _token_calls(mock) == 1


def test_a_401_refreshes_once_and_replays_the_call():
    with responses.RequestsMock() as mock:
        _tokens(mock, "old", "new")
        mock.get(API, status=401)
        mock.get(API, json={"ok": True})
        source = _source()
        assert source.request("GET", API).json() == {"ok": True}
        auth = [c.request.headers["Authorization"] for c in mock.calls if c.request.url == API]
        assert auth == ["Bearer old", "Bearer new"]
        assert source.token() == "new" and _token_calls(mock) == 2


def test_a_401_with_a_token_already_rotated_does_not_drop_the_new_one():
    with responses.RequestsMock() as mock:
        _tokens(mock, "old")
        source = _source()
        used = source.token()
        _tokens(mock, "rotated")
        source.drop(used)  # another process dropped and refreshed it
        assert source.token() == "rotated"
        source.drop(used)  # our late 401 on the old token
        assert source.token() == "rotated" and _token_calls(mock) == 2


def test_a_second_401_is_an_error():
    with responses.RequestsMock() as mock:
        _tokens(mock, "a", "b")
        mock.get(API, status=401)
        mock.get(API, status=401)
        with pytest.raises(ProviderError) as raised:
            _source().request("GET", API)
        assert raised.value.status_code == 401 and not raised.value.permanent
        assert _token_calls(mock) == 2
