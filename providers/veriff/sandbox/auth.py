"""Request authentication and response signing, as Veriff does it (README, "Authentication and
signatures", "The sandbox").

Every request carries `X-AUTH-CLIENT` (the integration's API key) and a signature in either
scheme: legacy `X-SIGNATURE` or current `X-HMAC-SIGNATURE`. The signed payload is the exact body
for POST/PATCH and the id in the path for GET. Every answer is signed the same way over its exact
bytes, with the integration's configured scheme (integration.py), which is also the one the app
verifies with.
"""

import json
import re
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from providers.veriff import signing

from . import faults
from .errors import ApiError, unauthorized
from .integration import integration

SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")

# Which code a wrong signature gets, by scheme and by what was signed (README, "Authentication and
# signatures").
MISMATCH_CODES = {
    (signing.LEGACY, "id"): "1813",
    (signing.LEGACY, "body"): "1814",
    (signing.HMAC, "id"): "1818",
    (signing.HMAC, "body"): "1819",
}


def compact_json(data: Any) -> bytes:
    """Veriff's wire format: compact, as JSON.stringify makes it (README, "Authentication and signatures")."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def response_signature_headers(payload: bytes) -> dict[str, str]:
    served = integration()
    return signing.signature_headers(payload, served.api_key, served.api_secret, served.signature_scheme)


def signed_json(data: Any, status: int = 200) -> HttpResponse:
    body = compact_json(data)
    response = HttpResponse(body, status=status, content_type="application/json")
    for name, value in response_signature_headers(body).items():
        response[name] = value
    return response


def check_api_key(headers: Any) -> str:
    """The request's API key, or ApiError 1801/1802/1803."""
    key = headers.get("X-AUTH-CLIENT", "").strip()
    if not key:
        raise unauthorized("1801")
    try:
        uuid.UUID(key)
    except ValueError:
        raise unauthorized("1802") from None
    if key.lower() != integration().api_key.lower():
        raise unauthorized("1803")
    return key


def check_signature(headers: Any, payload: bytes, signed_over: str, *, optional: bool = False) -> None:
    """Accept a valid signature in either scheme; X-HMAC-SIGNATURE wins when both are sent.

    `signed_over` is "body" or "id" and only picks the error code. `optional` is for
    POST /sessions, which needs no signature (devdocs general-faq) but is checked when one is sent
    (the seed's own sample signs it).
    """
    for scheme in (signing.HMAC, signing.LEGACY):
        given = headers.get(signing.HEADER[scheme], "").strip()
        if not given:
            continue
        if not SHA256_HEX.match(given):
            raise unauthorized("1812")
        if not signing.verify(payload, headers, integration().api_secret, scheme):
            raise unauthorized(MISMATCH_CODES[(scheme, signed_over)])
        return
    if not optional:
        # Veriff documents no separate code for a missing signature: an absent header is "not a
        # valid SHA256 hash".
        raise unauthorized("1812")


def _fault_in_force(request: HttpRequest):
    """The outage in force for this request, if any. Django checks a kept database connection
    with a query of its own before a request's first one (CONN_HEALTH_CHECKS): here that first
    statement is this look-up, a read, so it is the check: skipped, and a connection that died
    since the last request (a database restart) fails the look-up, which is then made once more on
    a new connection. A round trip less on each of the worker's calls (benchmarks/decision_cpu.py)."""
    connection.health_check_done = True
    try:
        return faults.fault_in_force(request.path, modes=("error", "timeout"), request=request)
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block:
            raise
        connection.close()
        return faults.fault_in_force(request.path, modes=("error", "timeout"), request=request)


def provider_endpoint(
    *methods: str, id_kwarg: str | None = None, signature_optional: bool = False
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Wrap a view of the provider API: method check, authentication, ApiError → signed JSON.

    The signature payload follows Veriff's rule: the exact body for POST/PATCH, the path id
    (`id_kwarg`, taken verbatim from the URL) for GET.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt  # a server-to-server API authenticated by its signature, not a browser form
        @wraps(view)
        def wrapper(request: HttpRequest, **kwargs: str) -> HttpResponse:
            # An injected outage (control/faults) hits before anything else, as a real one would.
            fault = _fault_in_force(request)
            if fault is not None and fault.mode == "error":
                return signed_json({"status": "fail", "message": "Internal Server Error."}, 500)
            if fault is not None:
                faults.hang(fault)
            try:
                if request.method not in methods:
                    raise ApiError(405, None, "Method Not Allowed.")
                check_api_key(request.headers)
                if request.method in ("POST", "PATCH", "PUT"):
                    check_signature(request.headers, request.body, "body", optional=signature_optional)
                else:
                    path_id = kwargs[id_kwarg] if id_kwarg else ""
                    check_signature(request.headers, path_id.encode(), "id")
                return view(request, **kwargs)
            except ApiError as error:
                return signed_json(error.body(), error.http_status)

        return wrapper

    return decorator
