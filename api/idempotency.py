"""`Idempotency-Key` on the POSTs that create something (Stripe's contract): the first request with
a key does the work and its successful response is stored; a retry with the same key and the same
request gets that response again (with `Idempotent-Replayed: true`) and creates nothing; the same
key with a different request is refused. Failed requests (4xx, 5xx) store nothing, so a corrected
retry may reuse the key. Keys belong to one client and live for KYC_IDEMPOTENCY_TTL seconds.

A view whose answer holds something to be shown once (a secret) sets `response.replay_data` to what
a replay may answer instead: the store never holds the secret.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re

from rest_framework import exceptions, status
from rest_framework.response import Response

from api import services
from api.models import ApiKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_FORMAT = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII without spaces


class IdempotencyKeyInvalid(exceptions.ValidationError):
    pass


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = (
        "This Idempotency-Key was already used with a different request. Use a new key for a new request."
    )


class IdempotencyRequestInProgress(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_request_in_progress"
    default_detail = "A request with this Idempotency-Key is still being processed. Retry in a moment."


def _client(request) -> str:
    if isinstance(request.auth, ApiKey):
        return f"key:{request.auth.pk}"
    return f"user:{request.user.pk}"


def _fingerprint(request, client: str) -> str:
    try:
        body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str).encode()
    except (TypeError, ValueError):
        body = request.body
    # A body the parser refuses (exceptions.ParseError) goes up as it is: a 400 malformed_request,
    # before any key is claimed. Caught, it left request.data empty for the view.
    digest = hashlib.sha256()
    for part in (client.encode(), request.method.encode(), request.path.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def idempotent(post):
    """Decorates an APIView's `post`."""

    @functools.wraps(post)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return post(self, request, *args, **kwargs)
        if not KEY_FORMAT.match(key):
            raise IdempotencyKeyInvalid(
                {HEADER: ["Must be 1 to 255 printable ASCII characters without spaces, e.g. a UUID."]}
            )
        client = _client(request)
        try:
            claim = services.idempotency_claim(
                client=client,
                key=key,
                fingerprint=_fingerprint(request, client),
                method=request.method,
                path=request.path,
            )
        except services.IdempotencyConflict as conflict:
            if conflict.kind == "mismatch":
                raise IdempotencyKeyReused() from None
            raise IdempotencyRequestInProgress() from None
        record = claim.record
        if claim.replay:
            headers = {REPLAYED_HEADER: "true"}
            if record.response_location:
                headers["Location"] = record.response_location
            return Response(record.response_body, status=record.response_status, headers=headers)
        try:
            response = post(self, request, *args, **kwargs)
        except BaseException:
            services.idempotency_release(record=record)
            raise
        if 200 <= response.status_code < 300:
            services.idempotency_complete(
                record=record,
                status=response.status_code,
                body=getattr(response, "replay_data", response.data),
                location=response.get("Location", ""),
            )
        else:
            services.idempotency_release(record=record)
        return response

    return wrapper
