from django.conf import settings
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
