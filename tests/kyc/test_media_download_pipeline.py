"""Evidence download of files larger than one buffer: received and written in the task's thread,
hashed in a second one (kyc.media._receive), with the guarantees of a single-buffer download;
faults at the HTTP boundary (responses)."""

import gzip
import hashlib
import io
import os
import threading
import types

import pytest
import responses

from kyc import media as media_service
from kyc.models import Media
from kyc.services import media as kyc_media
from providers.base import MediaItem, ProviderError
from tests.factories import SessionFactory
from tests.kyc.test_media_download import BreaksAfter, stored_files
from tests.providers_config import veriff_options

pytestmark = pytest.mark.django_db

MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"


def video_bytes(size: int) -> bytes:
    """An MP4-looking file whose every block differs (a digest of misordered blocks would differ)."""
    body = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(size // 32 + 1))
    return (MP4_HEAD + body)[:size]


@pytest.fixture
def video_row(settings):
    session = SessionFactory()
    item = MediaItem(provider_media_id="v-1", context="selfid_video", kind="video", mime_type="video/mp4")
    [media_id] = kyc_media.media_register(session_id=session.pk, items=[item])
    return Media.objects.get(pk=media_id)


@pytest.fixture
def small_buffers(monkeypatch):
    # Many buffers' worth of data without megabytes in the test: 1,000-byte buffers, 3 of them.
    monkeypatch.setattr(media_service, "BUFFER_SIZE", 1000)
    monkeypatch.setattr(media_service, "BUFFERS", 3)


def media_url(settings):
    return f"{veriff_options(settings).api_url}/media/v-1"


def hashing_threads():
    return [t for t in threading.enumerate() if t.name == "media-sha256"]


@responses.activate
@pytest.mark.parametrize("size", [3_500_000, 4 * 1024 * 1024], ids=["partial-last-buffer", "whole-buffers"])
def test_a_file_of_several_buffers_is_stored_whole_with_its_digest(settings, video_row, size):
    content = video_bytes(size)
    responses.get(media_url(settings), body=content, content_type="video/mp4")
    stored = media_service.media_download(media_id=video_row.pk)
    assert stored.state == Media.State.STORED
    assert (stored.size, stored.sha256) == (size, hashlib.sha256(content).hexdigest())
    assert stored.mime_type == "video/mp4"
    with stored.file.open("rb") as f:
        assert f.read() == content
    assert hashing_threads() == []


@responses.activate
def test_the_media_request_asks_for_the_bytes_as_they_are(settings, video_row):
    responses.get(media_url(settings), body=video_bytes(5000))
    media_service.media_download(media_id=video_row.pk)
    assert responses.calls[0].request.headers["Accept-Encoding"] == "identity"


@responses.activate
def test_a_compressed_answer_is_stored_decompressed(settings, video_row, small_buffers):
    # Asked for identity, a server may still compress: urllib3 decodes, the digest is the file's.
    content = video_bytes(20_000)
    responses.get(media_url(settings), body=gzip.compress(content), headers={"Content-Encoding": "gzip"})
    stored = media_service.media_download(media_id=video_row.pk)
    assert (stored.size, stored.sha256) == (len(content), hashlib.sha256(content).hexdigest())


@responses.activate
def test_a_stream_broken_mid_file_leaves_nothing_and_the_hashing_thread_ends(
    settings, video_row, small_buffers
):
    # Broken after many buffers have gone through the hashing thread.
    responses.get(media_url(settings), body=io.BufferedReader(BreaksAfter(video_bytes(20_500))))
    with pytest.raises(ProviderError) as excinfo:
        media_service.media_download(media_id=video_row.pk)
    assert excinfo.value.permanent is False
    video_row.refresh_from_db()
    assert video_row.state == Media.State.PENDING and video_row.sha256 == "" and not video_row.file
    assert "broke" in video_row.error
    assert stored_files(settings) == []  # not even the temporary part file
    assert hashing_threads() == []


@responses.activate
def test_a_stream_shorter_than_announced_is_a_broken_stream(settings, video_row, small_buffers):
    # http.client, which receives the bytes, does not check the length: the stream does.
    content = video_bytes(20_500)
    responses.get(
        media_url(settings),
        body=io.BufferedReader(io.BytesIO(content[:15_000])),
        headers={"Content-Length": str(len(content))},
        auto_calculate_content_length=False,
    )
    with pytest.raises(ProviderError) as excinfo:
        media_service.media_download(media_id=video_row.pk)
    assert excinfo.value.permanent is False
    assert "15000 of 20500 bytes" in str(excinfo.value)
    assert stored_files(settings) == []
    assert hashing_threads() == []


class Stream:
    """A MediaStream over bytes (providers.base), for _receive on its own."""

    def __init__(self, content: bytes):
        self.content = io.BytesIO(content)

    def readinto(self, buffer):
        return self.content.readinto(buffer)


def test_a_failure_in_the_hashing_thread_stops_the_receiving_and_is_raised(
    monkeypatch, small_buffers, tmp_path
):
    class FailingDigest:
        updates = 0

        def update(self, data):
            FailingDigest.updates += 1
            if FailingDigest.updates == 3:
                raise MemoryError("no memory for the digest")

    monkeypatch.setattr(media_service, "hashlib", types.SimpleNamespace(sha256=FailingDigest))
    with open(tmp_path / "out", "wb") as out, pytest.raises(MemoryError):
        media_service._receive(Stream(video_bytes(100_000)), out)
    assert hashing_threads() == []
    # Stopped soon after the failure: not the whole 100 buffers received.
    assert os.path.getsize(tmp_path / "out") < 100_000


def test_memory_stays_within_the_buffers_whatever_the_size(monkeypatch, small_buffers, tmp_path):
    made = []
    real_bytearray = bytearray

    def counting_bytearray(*args):
        buffer = real_bytearray(*args)
        made.append(len(buffer))
        return buffer

    monkeypatch.setattr(media_service, "bytearray", counting_bytearray, raising=False)
    content = video_bytes(250_000)
    with open(tmp_path / "out", "wb") as out:
        sha256, size, head = media_service._receive(Stream(content), out)
    # The head is what the type is proven from: the first buffer's worth, at most SNIFF_SIZE.
    assert (sha256, size, head) == (hashlib.sha256(content).hexdigest(), 250_000, content[:1000])
    assert made == [1000, 1000, 1000]  # 250 buffers' worth through 3 buffers
