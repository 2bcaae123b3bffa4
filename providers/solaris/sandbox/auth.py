"""OAuth2 client credentials, as Solaris does them (../README.md, "Authentication").

POST /oauth2/token with `Authorization: Basic base64(client_id:client_secret)` and the form body
`grant_type=client_credentials&scope=partners` gives a bearer token that every API call must carry
in its `Authorization` header (never in the URL). The token lives SOLARIS_SANDBOX_TOKEN_SECONDS,
scaled by SIM_TIME_SCALE; after that, or after control/tokens/expire, the API answers 401.
"""

import base64
import binascii
import datetime as dt
import functools
import hmac
import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import credentials, errors, faults
from .models import AccessToken, Fault, TokenRequest

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
SCOPE = "partners"


def token_lifetime_seconds() -> int:
    return max(1, round(settings.SOLARIS_SANDBOX_TOKEN_SECONDS * settings.SIM_TIME_SCALE))


def token_issue(*, client_id: str) -> AccessToken:
    now = timezone.now()
    return AccessToken.objects.create(
        token=secrets.token_urlsafe(32),
        client_id=client_id,
        issued_at=now,
        expires_at=now + dt.timedelta(seconds=token_lifetime_seconds()),
    )


def tokens_expire_all() -> int:
    """Every token issued so far stops working now (the next API call with it gets 401)."""
    return AccessToken.objects.filter(expires_at__gt=timezone.now()).update(expires_at=timezone.now())


def token_valid(token: str) -> bool:
    return AccessToken.objects.filter(token=token, expires_at__gt=timezone.now()).exists()


@csrf_exempt
def token_endpoint(request: HttpRequest) -> HttpResponse:
    """POST /oauth2/token. Every call is counted (TokenRequest), answered or refused."""
    fault = faults.fault_in_force(
        request.path, modes=(Fault.Mode.ERROR, Fault.Mode.TIMEOUT, Fault.Mode.SLOW_TOKEN)
    )
    if fault is not None and fault.mode == Fault.Mode.ERROR:
        response = errors.server_error().response()
    else:
        if fault is not None:
            faults.hang(fault)
        response = _token_answer(request)
    TokenRequest.objects.create(status_code=response.status_code)
    return response


def _token_answer(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _oauth_error(405, "invalid_request", "Use POST.")
    client_id = _basic_client(request.headers.get("Authorization", ""))
    if client_id is None:
        response = _oauth_error(401, "invalid_client", "Client authentication failed.")
        response["WWW-Authenticate"] = 'Basic realm="solaris-sandbox"'
        return response
    if request.content_type != FORM_CONTENT_TYPE:
        return _oauth_error(400, "invalid_request", f"The body must be {FORM_CONTENT_TYPE}.")
    if request.GET:
        # Credentials and grants belong in the body and header, never in a URL (seed, "Access token").
        return _oauth_error(400, "invalid_request", "Parameters belong in the form body, not the URL.")
    if request.POST.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials.")
    if request.POST.get("scope") != SCOPE:
        return _oauth_error(400, "invalid_scope", f"scope must be {SCOPE}.")
    token = token_issue(client_id=client_id)
    response = JsonResponse(
        {
            "access_token": token.token,
            "expires_in": token_lifetime_seconds(),
            "scope": SCOPE,
            "token_type": "bearer",
        }
    )
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _basic_client(header: str) -> str | None:
    """The client id of a valid `Basic base64(client_id:client_secret)` header, else None."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, client_secret = decoded.partition(":")
    if not colon:
        return None
    ok_id = hmac.compare_digest(client_id.encode(), credentials.CLIENT_ID.encode())
    ok_secret = hmac.compare_digest(client_secret.encode(), credentials.CLIENT_SECRET.encode())
    return client_id if ok_id and ok_secret else None


def _oauth_error(status: int, error: str, description: str) -> JsonResponse:
    # RFC 6749 §5.2's shape: the token endpoint is OAuth2's, not the API's (no errors[] there).
    return JsonResponse({"error": error, "error_description": description}, status=status)


def api_endpoint(*methods: str) -> Callable:
    """A view of the API under /v1/: the method is checked, an injected fault played, the bearer
    token required, and an ApiError raised below rendered as Solaris's errors[] body."""

    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise errors.ApiError(
                        405,
                        "method_not_allowed",
                        "Method Not Allowed",
                        f"{request.method} is not allowed here.",
                    )
                fault = faults.fault_in_force(request.path, modes=(Fault.Mode.ERROR, Fault.Mode.TIMEOUT))
                if fault is not None:
                    if fault.mode == Fault.Mode.ERROR:
                        raise errors.server_error()
                    faults.hang(fault)
                _require_bearer(request)
                return view(request, *args, **kwargs)
            except errors.ApiError as error:
                return error.response()

        return wrapper

    return decorate


def _require_bearer(request: HttpRequest) -> None:
    if "access_token" in request.GET:
        raise errors.unauthorized("Access tokens are never accepted in the URL.")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.unauthorized("Missing Bearer Token")
    if not token_valid(token.strip()):
        raise errors.unauthorized()
