"""The provider API under /v1/ (README, "Endpoints"): same paths, headers, codes and shapes as Veriff.

Ids in paths are taken as `str`, not `uuid`, because the GET signature is computed over the id
exactly as the client wrote it in the path.
"""

import hashlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from .. import faults, large_video, payloads, services, validation
from ..auth import provider_endpoint, response_signature_headers, signed_json
from ..errors import conflict, fail, not_found, unauthorized
from ..models import SandboxAttempt, SandboxMedia, SandboxSession, Status
from . import client_ip

DOWNLOAD_CHUNK_SIZE = 16 * 1024
# An injected slow network (control/faults "slow") also sends small chunks, so that even a small
# photo takes several pauses: a download can then be caught half-way by a test.
SLOW_CHUNK_SIZE = 1024


@provider_endpoint("POST", signature_optional=True)
def create_session(request: HttpRequest) -> HttpResponse:
    data = validation.parse_session_request(request.body)
    session = services.session_create(api_key=request.headers["X-AUTH-CLIENT"].strip(), data=data)
    return signed_json(payloads.session_response(session), status=201)


@provider_endpoint("PATCH", id_kwarg="session_id")
def update_session(request: HttpRequest, session_id: str) -> HttpResponse:
    session = _session(request, session_id)
    validation.parse_status_update(request.body)
    try:
        session = services.attempt_submit(session.id, ip=client_ip(request))
    except services.SessionClosed:
        raise fail("1304", status=Status.SUBMITTED) from None
    return signed_json(payloads.session_response(session))


@provider_endpoint("GET", "POST", id_kwarg="session_id")
def session_media(request: HttpRequest, session_id: str) -> HttpResponse:
    session = _session(request, session_id)
    if request.method == "GET":
        # Every attempt's media: a resubmitted session lists the files of each try.
        # Listed, not sent: the files' bytes stay in the database (payloads.media_item).
        media = (
            SandboxMedia.objects.filter(attempt__session=session)
            .defer("content")
            .order_by("attempt__number", "created_at")
        )
        return signed_json(payloads.media_listing(media))

    upload = validation.parse_media_upload(request.body)
    try:
        media = services.media_upload(session.id, upload, ip=client_ip(request))
    except services.AlreadySubmitted:
        raise conflict("Media cannot be added after the session was submitted.") from None
    except services.SessionClosed:
        raise fail("1304", status=Status.STARTED) from None
    return signed_json(payloads.upload_response(media), status=201)


@provider_endpoint("GET", id_kwarg="session_id")
def session_decision(request: HttpRequest, session_id: str) -> HttpResponse:
    """`verification: null` until a decision exists (README, "Endpoints"); then the latest one."""
    attempt = _session(request, session_id).latest_decided_attempt()
    if attempt is None:
        return signed_json({"status": "success", "verification": None})
    return signed_json(attempt.decision)


@provider_endpoint("GET", id_kwarg="session_id")
def session_attempts(request: HttpRequest, session_id: str) -> HttpResponse:
    return signed_json(payloads.attempts_listing(_session(request, session_id)))


@provider_endpoint("GET", id_kwarg="session_id")
def session_person(request: HttpRequest, session_id: str) -> HttpResponse:
    session = _session(request, session_id)
    submitted = session.attempts.exclude(submitted_at=None).exists()
    return signed_json(payloads.person_response(session, submitted=submitted))


@provider_endpoint("GET", id_kwarg="session_id")
def session_timestamps(request: HttpRequest, session_id: str) -> HttpResponse:
    session = _session(request, session_id)
    media = SandboxMedia.objects.filter(attempt__session=session).order_by("attempt__number", "created_at")
    timestamps = [{**payloads.timestamp_ref(m), "context": m.context} for m in media]
    return signed_json({"status": "success", "timestamps": timestamps})


@provider_endpoint("GET", id_kwarg="attempt_id")
def attempt_media(request: HttpRequest, attempt_id: str) -> HttpResponse:
    attempt = _attempt(request, attempt_id)
    return signed_json(payloads.media_listing(attempt.media.defer("content").order_by("created_at")))


@provider_endpoint("GET", id_kwarg="media_id")
def media_download(request: HttpRequest, media_id: str) -> HttpResponse:
    """The file itself, chunked, with its real MIME type (README, "Endpoints"). Veriff signs the media
    data; the bytes are already in memory here, so the signature covers the whole file even though
    the body is streamed."""
    media = _media(request, media_id)
    if media.synthetic:
        # A generated large video: made while it is sent, never whole in memory (large_video.py).
        response = StreamingHttpResponse(large_video.chunks(media.size), content_type=media.mimetype)
        response["Content-Length"] = str(media.size)
        for name, value in media.synthetic_signature_headers.items():
            response[name] = value
        return response
    content = bytes(media.content)
    slow = faults.fault_in_force(request.path, modes=("slow",), request=request)
    pause = slow.seconds if slow is not None else 0.0
    response = StreamingHttpResponse(_chunks(content, pause), content_type=media.mimetype)
    for name, value in response_signature_headers(content).items():
        response[name] = value
    return response


@provider_endpoint("GET", id_kwarg="timestamp_id")
def timestamp_detail(request: HttpRequest, timestamp_id: str) -> HttpResponse:
    """Veriff timestamps files with Guardtime; the sandbox only reports each file's SHA-256."""
    media = _media(request, timestamp_id, by="timestamp_id")
    digest = media.synthetic_sha256 or hashlib.sha256(bytes(media.content)).hexdigest()
    return signed_json(
        {
            "status": "success",
            "timestamp": {
                "id": str(media.timestamp_id),
                "context": media.context,
                "signature": "sandbox-not-a-guardtime-signature",
                "dataHash": {"algorithm": "SHA-256", "value": digest},
            },
        }
    )


# --- lookups ------------------------------------------------------------------------------------


def _session(request: HttpRequest, session_id: str) -> SandboxSession:
    session = _get(SandboxSession.objects.all(), session_id)
    _check_access(request, session)
    return session


def _attempt(request: HttpRequest, attempt_id: str) -> SandboxAttempt:
    attempt = _get(SandboxAttempt.objects.select_related("session"), attempt_id)
    _check_access(request, attempt.session)
    return attempt


def _media(request: HttpRequest, media_id: str, *, by: str = "id") -> SandboxMedia:
    media = _get(SandboxMedia.objects.select_related("attempt__session"), media_id, by)
    _check_access(request, media.attempt.session)
    return media


def _get(queryset: QuerySet, object_id: str, field: str = "id") -> Any:
    try:
        key = uuid.UUID(object_id)
    except ValueError:
        raise not_found() from None
    try:
        # get(), not first(): a unique key needs no ORDER BY, and none is compiled (every call of
        # the API looks one up: benchmarks/decision_cpu.py).
        return queryset.get(**{field: key})
    except queryset.model.DoesNotExist:
        raise not_found() from None


def _check_access(request: HttpRequest, session: SandboxSession) -> None:
    """The session must belong to the caller's integration (1101). One past its lifetime is
    expired on the spot, sweeper or not (README, "The sandbox")."""
    _check_owner(request, session)
    if services.is_stale(session):
        services.expire_if_stale(session.id)
        session.refresh_from_db()


def _check_owner(request: HttpRequest, session: SandboxSession) -> None:
    # Only reachable when the integration's key changed since the session was made (the sandbox
    # has one integration): the seed's "Invalid Vendor API Key".
    if session.api_key.lower() != request.headers["X-AUTH-CLIENT"].strip().lower():
        raise unauthorized("1101")


def _chunks(content: bytes, pause: float = 0.0) -> Iterator[bytes]:
    view = memoryview(content)
    size = SLOW_CHUNK_SIZE if pause else DOWNLOAD_CHUNK_SIZE
    for start in range(0, len(view), size):
        if pause and start:
            time.sleep(pause)
        yield bytes(view[start : start + size])
