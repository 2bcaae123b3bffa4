from django.conf import settings
from rest_framework.exceptions import Throttled
from rest_framework.throttling import SimpleRateThrottle

from api.models import ApiKey


class ApiClientRateThrottle(SimpleRateThrottle):
    """One budget per API key (per user for staff sessions), shared by all the app's processes
    when the cache is (CACHE_URL pointing at Redis)."""

    scope = "api_client"

    def get_rate(self) -> str:
        return settings.KYC_API_RATE

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class FailedAuthenticationThrottle(SimpleRateThrottle):
    """Failed authentications (an unknown, revoked or malformed API key) per source address.

    DRF authenticates before it throttles, so a wrong key is refused before ApiClientRateThrottle
    ever counts it: without this, keys could be guessed at full speed. Only failures are counted
    (a good key, or no credential, spends nothing); once over KYC_API_AUTH_FAILURE_RATE the address
    gets 429 with Retry-After for every key it presents, good ones included, so that a block tells
    nothing about which key was right. The address is DRF's `get_ident` (REMOTE_ADDR, or the
    X-Forwarded-For entry NUM_PROXIES says our own proxies added). Staff passwords are django-axes's
    business, TOTP and backup codes django-otp's.
    """

    scope = "api_auth_failure"

    def get_rate(self) -> str:
        return settings.KYC_API_AUTH_FAILURE_RATE

    def get_cache_key(self, request, view=None) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def _recent(self, request) -> list[float]:
        self.key = self.get_cache_key(request)
        self.now = self.timer()
        return [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]

    def check(self, request) -> None:
        """Raises Throttled (429, Retry-After) while the address is over its budget of failures."""
        self.history = self._recent(request)
        if len(self.history) >= self.num_requests:
            raise Throttled(wait=self.wait())

    def record_failure(self, request) -> None:
        # Read-modify-write, as DRF's own throttles: two failures racing may count as one, which
        # lets a guesser a few tries more at most, never a block on a well-behaved client.
        history = self._recent(request)
        history.insert(0, self.now)
        self.cache.set(self.key, history, self.duration)
