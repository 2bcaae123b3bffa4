"""ShareID's API under flow/ (../../README.md, "Sandbox"): JSON in and out, the business's
credentials in the body of every start and token call, a fetch token as a Bearer on every fetch,
errors as `{"detail": "…"}` (401 invalid credentials or token, 404 unknown applicant, 422 a bad
body, 429 too many calls)."""

import functools
import hmac
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .. import credentials, faults, fetching, services
from ..models import Applicant, FetchToken

METHODS = ("doc", "face")
URL_MAX_LENGTH = 2000


class ApiError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(f"{status} {detail}")
        self.status = status
        self.detail = detail


def _answer(status: int, detail: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def api_endpoint(fault_kind: str) -> Callable:
    """A view of ShareID's API: POST only, an injected fault of `fault_kind` played first, an
    ApiError raised below answered as `{"detail"}`, every 401 counted (control/stats)."""

    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method != "POST":
                return _answer(405, "method not allowed", Allow="POST")
            fault = faults.fault_take(fault_kind)
            if fault is not None:
                if fault.hang_seconds:
                    faults.hang(fault)
                    return _answer(504, "sandbox fault injection: the call hung and did nothing")
                return _answer(fault.status or 500, "sandbox fault injection")
            try:
                return view(request, *args, **kwargs)
            except ApiError as error:
                if error.status == 401:
                    fetching.counter_add(fetching.UNAUTHORIZED)
                return _answer(error.status, error.detail)

        return wrapper

    return decorate


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body)
    except (ValueError, RecursionError):
        raise ApiError(422, "the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise ApiError(422, "the body must be a JSON object")
    return data


def _check_credentials(data: dict[str, Any]) -> None:
    business_hash, api_key = data.get("business_hash"), data.get("api_key")
    if not isinstance(business_hash, str) or not isinstance(api_key, str):
        raise ApiError(401, "invalid credentials")
    ok_hash = hmac.compare_digest(business_hash.encode(), credentials.BUSINESS_HASH.encode())
    ok_key = hmac.compare_digest(api_key.encode(), credentials.API_KEY.encode())
    if not (ok_hash and ok_key):
        raise ApiError(401, "invalid credentials")


def _check_bearer(request: HttpRequest, *, kind: str) -> None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not fetching.fetch_token_valid(token.strip(), kind=kind):
        raise ApiError(401, "invalid token")


def _callback(data: dict[str, Any]) -> str:
    """The callback URL, kept exactly as given. It is sent as it is, so it must already be a
    well-formed ASCII URL (no spaces, nothing to quote)."""
    value = data.get("callback")
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > URL_MAX_LENGTH:
        raise ApiError(422, f"callback must be an http(s) URL of at most {URL_MAX_LENGTH} characters")
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    well_formed = value.isascii() and value.isprintable() and " " not in value
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or not well_formed:
        raise ApiError(422, "callback must be an http(s) URL, ASCII, without spaces")
    return value


def _flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise ApiError(422, f"{name} must be true or false")
    return value


@api_endpoint("start")
def onboarding_start(request: HttpRequest) -> HttpResponse:
    data = _body(request)
    _check_credentials(data)
    customer_data = data.get("customer_data")
    if not isinstance(customer_data, dict):
        raise ApiError(422, "customer_data is required (a JSON object)")
    methods = data.get("methods", list(METHODS))
    if not isinstance(methods, list) or not methods or not set(methods) <= set(METHODS):
        raise ApiError(422, f"methods must be a non-empty list of {', '.join(METHODS)}")
    low, high = services.SESSION_DURATION_RANGE
    duration = data.get("session_duration", services.SESSION_DURATION_DEFAULT)
    if isinstance(duration, bool) or not isinstance(duration, int) or not low <= duration <= high:
        raise ApiError(422, f"session_duration must be an integer from {low} to {high} (seconds)")
    applicant, token = services.applicant_create(
        customer_data=customer_data,
        methods=methods,
        callback=_callback(data),
        callback_with_document_capture=_flag(data, "callback_with_document_capture"),
        advanced_verification=_flag(data, "advanced_verification"),
        session_duration=duration,
    )
    return JsonResponse({"token": token.token, "applicant_id": applicant.id})


@api_endpoint("authenticate")
def authenticate_start(request: HttpRequest) -> HttpResponse:
    data = _body(request)
    _check_credentials(data)
    applicant_id = data.get("applicant_id")
    if not isinstance(applicant_id, str) or not applicant_id:
        raise ApiError(422, "applicant_id is required")
    applicant = Applicant.objects.filter(id=applicant_id).first()
    if applicant is None:
        raise ApiError(404, "applicant not found")
    flow, token = services.flow_create(applicant=applicant, callback=_callback(data))
    return JsonResponse({"token": token.token, "flow_id": str(flow.id)})


def _fetch_token(request: HttpRequest, kind: str) -> HttpResponse:
    data = _body(request)
    _check_credentials(data)
    return JsonResponse({"token": fetching.fetch_token_issue(kind=kind).token})


@api_endpoint("fetch_token")
def onboarding_fetch_token(request: HttpRequest) -> HttpResponse:
    return _fetch_token(request, FetchToken.Kind.ONBOARDING)


@api_endpoint("fetch_token")
def authenticate_fetch_token(request: HttpRequest) -> HttpResponse:
    return _fetch_token(request, FetchToken.Kind.AUTHENTICATE)


NOT_READY = "applicant not found"


@api_endpoint("fetch")
def onboarding_fetch(request: HttpRequest) -> HttpResponse:
    _check_bearer(request, kind=FetchToken.Kind.ONBOARDING)
    applicant_id = _body(request).get("applicant_id")
    if not isinstance(applicant_id, str) or not applicant_id:
        raise ApiError(422, "applicant_id is required")
    try:
        result = fetching.onboarding_fetch(applicant_id=applicant_id)
    except fetching.RateLimited as limited:
        return _answer(429, "too many calls", Retry_After=str(limited.retry_after))
    return JsonResponse(result if result is not None else {"detail": NOT_READY})


@api_endpoint("fetch")
def authenticate_fetch(request: HttpRequest) -> HttpResponse:
    _check_bearer(request, kind=FetchToken.Kind.AUTHENTICATE)
    flow_id = _body(request).get("flow_id")
    if not isinstance(flow_id, str) or not flow_id:
        raise ApiError(422, "flow_id is required")
    try:
        result = fetching.authenticate_fetch(flow_id=flow_id)
    except fetching.RateLimited as limited:
        return _answer(429, "too many calls", Retry_After=str(limited.retry_after))
    return JsonResponse(result if result is not None else {"detail": NOT_READY})
