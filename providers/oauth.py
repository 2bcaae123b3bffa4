"""Bearer tokens shared by every process: OAuth2 client credentials (Solaris, Signicat), and any
other token an API hands out for a while (ShareID's fetch tokens: SharedToken.issue).

A token is asked for once and kept in Django's shared cache (the same for every worker and web
process) until it expires, less a margin, so that a fleet of workers does not each ask the
provider's token endpoint, which may throttle or cost. When it is missing, one process refreshes
it, holding a lock in the cache (`cache.add`: only one caller creates the key); the others wait a
moment and read what it stored. A 401 from the API means the token was revoked or expired early:
it is dropped only if it is still the one we used (another process may have stored a new one
meanwhile, which must not be thrown away), refreshed, and the call replayed once; a second 401 is
an error (ProviderError, not permanent: a provider's 401 here is not a bad configuration forever,
unlike Veriff's).

Django's cache is not ours, so a provider package may use it (providers import nothing of ours).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import requests
from django.core.cache import cache

from providers.base import ProviderError

# The token is renewed this long before it expires: a call made just before the end must not
# reach the provider with a token that has expired on the way.
EXPIRY_MARGIN = 60
# How long a refresh may hold the lock; past it another process may refresh (the holder died).
LOCK_SECONDS = 30
# While another process refreshes, look for its token this often, for at most LOCK_SECONDS.
WAIT_STEP = 0.05


class SharedToken(ABC):
    """A token shared through the cache: one process asks for it (`issue`), every process uses it
    until it expires, a 401 drops it. A subclass says how a token is asked for."""

    def __init__(
        self,
        *,
        cache_key: str,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        margin: int = EXPIRY_MARGIN,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.key = cache_key
        self.lock_key = f"{self.key}:lock"
        self.session = session or requests.Session()
        self.timeout, self.margin, self.sleep = timeout, margin, sleep

    @abstractmethod
    def issue(self) -> tuple[str, int]:
        """Ask the provider for a new token: the token and its lifetime in seconds (0 or less: not
        kept, used for this call only). Raises ProviderError."""

    def token(self) -> str:
        """A valid access token: the shared one, or a new one if there is none."""
        deadline = time.monotonic() + LOCK_SECONDS
        while True:
            token = cache.get(self.key)
            if token:
                return token
            if cache.add(self.lock_key, 1, LOCK_SECONDS):
                try:
                    token = cache.get(self.key)  # stored while we took the lock
                    return token or self._refresh()
                finally:
                    cache.delete(self.lock_key)
            if time.monotonic() > deadline:
                return self._refresh()  # the lock's holder is gone: refresh ourselves
            self.sleep(WAIT_STEP)

    def drop(self, used: str) -> None:
        """Forget the shared token if it is still `used` (a 401 answered it)."""
        if cache.get(self.key) == used:
            cache.delete(self.key)

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        """Call the API with the shared token; on a 401, drop it, refresh, and replay once."""
        for attempt in (1, 2):
            token = self.token()
            headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {token}"}
            response = self.session.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
            kwargs["headers"] = headers
            if response.status_code != 401:
                return response
            self.drop(token)
            if attempt == 2:
                raise ProviderError("the provider refused a fresh token (401)", status_code=401)
        raise AssertionError("unreachable")

    def _refresh(self) -> str:
        token, lifetime = self.issue()
        lifetime -= self.margin
        if lifetime > 0:
            cache.set(self.key, token, lifetime)
        return token


class ClientCredentials(SharedToken):
    """An OAuth2 client-credentials token source for one client at one token endpoint."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str = "",
        cache_key: str,
        **options: Any,
    ):
        super().__init__(cache_key=f"oauth:{cache_key}", **options)
        self.token_url, self.client_id, self.client_secret, self.scope = (
            token_url,
            client_id,
            client_secret,
            scope,
        )

    def issue(self) -> tuple[str, int]:
        data = {"grant_type": "client_credentials"}
        if self.scope:
            data["scope"] = self.scope
        try:
            response = self.session.post(
                self.token_url, data=data, auth=(self.client_id, self.client_secret), timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise ProviderError(f"token endpoint unreachable: {type(exc).__name__}") from exc
        if response.status_code not in (200, 201):  # Solaris' answers 201
            raise ProviderError(
                f"token endpoint answered {response.status_code}",
                permanent=400 <= response.status_code < 500 and response.status_code != 429,
                status_code=response.status_code,
            )
        try:
            body = response.json()
            token, expires_in = str(body["access_token"]), int(body.get("expires_in") or 0)
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderError("token endpoint answered no token") from exc
        return token, expires_in
