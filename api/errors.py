"""One error format for every API answer that is not a success, whoever raised it (DRF, Django's
URL resolver, a crash):

    {"error": {"code": "validation_error", "message": "…", "fields": {"email": ["…"]}}}

`code` is stable and meant for programs, `message` for developers, `fields` names the request
fields at fault (empty when none is).
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.urls import Resolver404, resolve
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from kyc.pages import permission_denied_page

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

# DRF's codes, renamed where a client would otherwise read something vague.
CODE_NAMES = {"invalid": "validation_error", "throttled": "rate_limited", "parse_error": "malformed_request"}
MESSAGES = {
    "validation_error": "The request has invalid fields.",
    "rate_limited": "Too many requests. Retry after the number of seconds in the Retry-After header.",
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error details as {"field" or "parent.child": [messages]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(detail, list) and any(isinstance(v, dict | list) for v in detail):
        for index, value in enumerate(detail):
            out.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        items = detail if isinstance(detail, list) else [detail]
        out[prefix or "non_field_errors"] = [str(v) for v in items]
    return out


def _code(exc: exceptions.APIException) -> str:
    detail_code = getattr(exc.detail, "code", None)
    code = detail_code if isinstance(detail_code, str) else exc.default_code
    if isinstance(exc, exceptions.ValidationError):
        code = "invalid"
    return CODE_NAMES.get(code, code)


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)  # e.g. the four-eyes rule, in words
    if not isinstance(exc, exceptions.APIException):
        view = context.get("view")
        logger.exception("API error in %s", type(view).__name__ if view else "?")
        return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)

    response = drf_exception_handler(exc, context)  # sets WWW-Authenticate and Retry-After
    code = _code(exc)
    fields: dict[str, list[str]] = {}
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        non_field = fields.pop("non_field_errors", None)
        message = " ".join(non_field) if non_field else MESSAGES["validation_error"]
    elif isinstance(exc.detail, dict):  # e.g. a conflict on one field
        fields = _flatten(exc.detail)
        message = next(iter(fields.values()))[0]
    else:
        message = MESSAGES.get(code) or str(exc.detail)
    response.data = error_body(code, message, fields)
    return response


# --- outside DRF: unknown URLs and crashes under /api/ --------------------------------------------
@csrf_exempt  # answers 404 to every method; there is nothing to protect
def api_not_found(request, *args, **kwargs):
    """The end of the API's URL list: anything under /api/ that matched nothing."""
    message = "There is no API endpoint at this path."
    if not request.path.endswith("/"):
        try:
            resolve(request.path + "/")
        except Resolver404:
            pass
        else:
            message += f" Did you mean {request.path}/ (with a trailing slash)?"
    return JsonResponse(error_body("not_found", message), status=404)


def permission_denied(request, exception=None):
    """Outside DRF (the admin, the back-office's own views): JSON under /api/, else the
    back-office's page saying which permission is missing."""
    if request.path.startswith(API_PREFIX):
        message = str(exception or "") or "You do not have permission to perform this action."
        return JsonResponse(error_body("permission_denied", message), status=403)
    return permission_denied_page(request, exception)


def page_not_found(request, exception=None):
    if request.path.startswith(API_PREFIX):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)
    return defaults.server_error(request)


def csrf_failure(request, reason=""):
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body("permission_denied", f"CSRF failed: {reason}"), status=403)
    return csrf.csrf_failure(request, reason)
