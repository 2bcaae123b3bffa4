"""Who is calling: a server-to-server client with an API key, or a logged-in staff member."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header

from api.models import ApiKey
from api.services import api_key_authenticate
from api.throttling import FailedAuthenticationThrottle
from kyc.staff_session import staff_password_accepted, staff_session_complete

KEYWORD = "Api-Key"


class ApiKeyClient:
    """The request.user of a request made with an API key: a client, not a person. It is never a
    staff user and has no Django permissions; what it may do is the key's scopes."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = id = None

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key

    def __str__(self) -> str:
        return self.api_key.actor_label

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def get_username(self) -> str:
        return self.api_key.actor_label


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Api-Key <key>`."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        throttle = FailedAuthenticationThrottle()
        throttle.check(request)  # before the key is looked at: a blocked address learns nothing
        api_key = self._api_key(header)
        if api_key is None:
            throttle.record_failure(request)
            # One answer for unknown and revoked keys: which keys ever existed is not told.
            raise exceptions.AuthenticationFailed(
                "The Authorization header must be 'Api-Key <key>'."
                if len(header) != 2
                else "This API key is not valid or has been revoked."
            )
        return ApiKeyClient(api_key), api_key

    @staticmethod
    def _api_key(header: list[bytes]) -> ApiKey | None:
        if len(header) != 2:
            return None
        try:
            raw_key = header[1].decode("ascii")
        except UnicodeDecodeError:
            return None
        return api_key_authenticate(raw_key=raw_key)

    def authenticate_header(self, request) -> str:
        # Makes a refusal a 401 with `WWW-Authenticate: Api-Key`, not a 403.
        return KEYWORD


class StaffSessionAuthentication(SessionAuthentication):
    """The back-office login, for staff only (with DRF's CSRF check on unsafe methods), and only
    once complete: a password without the required second factor is no API credential
    (kyc.staff_session, the rule the back-office and /metrics follow too)."""

    def authenticate(self, request):
        django_request = request._request
        user = getattr(django_request, "user", None)
        if not staff_password_accepted(django_request):
            return None  # no login, or an end-user or customer login: no API credential
        if not staff_session_complete(django_request):
            # Told before the CSRF check, so the client hears what is really missing.
            raise exceptions.AuthenticationFailed(
                "Your back-office sign-in is missing its second factor: finish it on the "
                "back-office's two-factor page, then call the API again."
            )
        self.enforce_csrf(request)
        return user, None
