"""Evidence download: streamed to storage with digest, no half file, no duplicate, faults at the
HTTP boundary (responses)."""

import hashlib
import io
import os
import re

import pytest
import responses
from PIL import Image
from urllib3.exceptions import ProtocolError

from kyc import media as media_service
from kyc.models import Attempt, Media
from kyc.services import media as kyc_media
from providers.base import MediaItem, ProviderError
from tests.factories import SessionFactory
from tests.providers_config import veriff_options

pytestmark = pytest.mark.django_db


def jpeg_bytes(size=(640, 400)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 90, 160)).save(out, "JPEG", quality=90)
    return out.getvalue()


class BreaksAfter(io.RawIOBase):
    """A response body that sends `good` bytes and then loses the connection."""

    def __init__(self, good: bytes):
        self.good = io.BytesIO(good)

    def readable(self):
        return True

    def readinto(self, buffer):
        chunk = self.good.read(len(buffer))
        if not chunk:
            raise ProtocolError("Connection broken: IncompleteRead")
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.fixture
def media_row(settings):
    session = SessionFactory()
    attempt = Attempt.objects.create(session=session, provider_attempt_id="att-1", status="approved")
    [media_id] = kyc_media.media_register(
        session_id=session.pk,
        items=[
            MediaItem(
                provider_media_id="m-1", context="document-front", attempt_id="att-1", mime_type="image/jpeg"
            )
        ],
    )
    row = Media.objects.get(pk=media_id)
    assert row.attempt == attempt
    return row


def media_url(settings, media_id="m-1"):
    return f"{veriff_options(settings).api_url}/media/{media_id}"


def stored_files(settings):
    root = settings.MEDIA_ROOT
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files)


@responses.activate
def test_download_streams_the_file_with_digest_size_and_sniffed_type(settings, media_row):
    content = jpeg_bytes()
    responses.get(media_url(settings), body=content, content_type="application/octet-stream")
    stored = media_service.media_download(media_id=media_row.pk)
    assert stored.state == Media.State.STORED
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.size == len(content)
    assert stored.mime_type == "image/jpeg"  # from the bytes, not the header
    with stored.file.open("rb") as f:
        assert f.read() == content
    assert stored_files(settings) == [f"evidence/{stored.session.reference}/m-1.jpg"]
    # Signed over the media id: GET requests sign the id in the path (providers/veriff/README.md,
    # "Authentication and signatures").
    request = responses.calls[0].request
    assert request.headers["X-AUTH-CLIENT"] == veriff_options(settings).api_key
    assert "X-HMAC-SIGNATURE" in request.headers


@responses.activate
def test_the_downloaded_file_is_moved_into_storage_readable_by_its_owner_only(settings, media_row):
    # Renamed from its private temporary file rather than copied: a large video is not written
    # twice, and the evidence file keeps the temporary file's owner-only mode.
    settings.FILE_UPLOAD_PERMISSIONS = None
    responses.get(media_url(settings), body=jpeg_bytes())
    stored = media_service.media_download(media_id=media_row.pk)
    assert os.stat(stored.file.path).st_mode & 0o777 == 0o600
    assert stored_files(settings) == [f"evidence/{stored.session.reference}/m-1.jpg"]


@responses.activate
def test_a_broken_stream_leaves_no_file_and_the_row_pending(settings, media_row):
    responses.get(media_url(settings), body=io.BufferedReader(BreaksAfter(jpeg_bytes()[:5000])))
    with pytest.raises(ProviderError) as excinfo:
        media_service.media_download(media_id=media_row.pk)
    assert excinfo.value.permanent is False
    media_row.refresh_from_db()
    assert media_row.state == Media.State.PENDING and media_row.sha256 == "" and not media_row.file
    assert "broke" in media_row.error
    assert stored_files(settings) == []  # not even the temporary part file


@responses.activate
def test_provider_outage_is_transient_and_not_found_is_permanent(settings, media_row):
    responses.get(media_url(settings), status=503)
    with pytest.raises(ProviderError) as excinfo:
        media_service.media_download(media_id=media_row.pk)
    assert excinfo.value.permanent is False
    responses.replace(
        responses.GET, media_url(settings), status=404, json={"status": "fail", "message": "Not Found."}
    )
    with pytest.raises(ProviderError) as excinfo:
        media_service.media_download(media_id=media_row.pk)
    assert excinfo.value.permanent is True
    media_row.refresh_from_db()
    assert media_row.state == Media.State.FAILED


@responses.activate
def test_retry_after_a_crash_overwrites_the_leftover_and_never_duplicates(settings, media_row):
    content = jpeg_bytes()
    responses.get(media_url(settings), body=content)
    # What a worker killed between writing the file and committing its row leaves behind.
    leftover = os.path.join(settings.MEDIA_ROOT, "evidence", str(media_row.session.reference), "m-1.jpg")
    os.makedirs(os.path.dirname(leftover))
    with open(leftover, "wb") as f:
        f.write(content[:100])
    media_service.media_download(media_id=media_row.pk)
    media_service.media_download(media_id=media_row.pk)  # a second delivery of the same task
    assert stored_files(settings) == [f"evidence/{media_row.session.reference}/m-1.jpg"]
    with open(leftover, "rb") as f:
        assert f.read() == content
    assert len(responses.calls) == 1  # the stored file is not fetched again


@responses.activate
def test_media_sync_registers_every_attempts_media_once(settings):
    from kyc import tasks

    session = SessionFactory()
    base = re.escape(veriff_options(settings).api_url)
    sid = session.provider_session_id
    responses.get(
        f"{veriff_options(settings).api_url}/sessions/{sid}/attempts",
        json={
            "status": "success",
            "verifications": [
                {"id": "a1", "status": "resubmission_requested"},
                {"id": "a2", "status": "approved"},
            ],
        },
    )
    for attempt in ("a1", "a2"):
        responses.get(
            f"{veriff_options(settings).api_url}/attempts/{attempt}/media",
            json={
                "status": "success",
                "images": [{"id": f"{attempt}-front", "name": "document-front", "mimetype": "image/jpeg"}],
                "videos": [{"id": f"{attempt}-video", "name": "selfid_video", "mimetype": "video/mp4"}],
            },
        )
    responses.get(
        f"{veriff_options(settings).api_url}/sessions/{sid}/media",
        json={"status": "success", "images": [{"id": "a2-front", "name": "document-front"}], "videos": []},
    )
    responses.get(re.compile(base + r"/media/.+"), body=jpeg_bytes())
    tasks.session_media_sync.delay(session.pk)
    tasks.session_media_sync.delay(session.pk)  # twice: nothing doubles
    rows = list(
        session.media.order_by("provider_media_id").values_list(
            "provider_media_id", "attempt__provider_attempt_id", "kind", "state"
        )
    )
    assert rows == [
        ("a1-front", "a1", "image", "stored"),
        ("a1-video", "a1", "video", "stored"),
        ("a2-front", "a2", "image", "stored"),
        ("a2-video", "a2", "video", "stored"),
    ]
    assert len(stored_files(settings)) == 4


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\nrest", "image/png"),
        # Whole headers: a truncated `ftyp` box or EBML header proves nothing (kyc/media_serving.py).
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "video/mp4"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm", "video/webm"),
        (b"GIF89a", "image/gif"),
    ],
)
def test_sniff_prefers_the_bytes_over_the_announced_type(head, expected):
    assert media_service.sniff(head, "image/gif")[0] == expected
