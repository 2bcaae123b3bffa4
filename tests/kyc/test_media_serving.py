"""Evidence is served as what its bytes prove it to be (issue 11, item 6): a file the provider
declared `text/html`, or one whose bytes are HTML whatever it declared, is never rendered on the
admin origin; only proven pictures and videos are shown inline, PDFs are downloaded, and every
media response forbids sniffing and runs sandboxed."""

import hashlib
import io

import pytest
import responses
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from PIL import Image
from rest_framework.test import APIClient

from api.services import api_key_create
from kyc import media as media_service
from kyc.models import Media
from kyc.services import media as kyc_media
from providers.base import MediaItem
from tests.factories import SessionFactory
from tests.providers_config import veriff_options

pytestmark = pytest.mark.django_db

HTML = b"<!doctype html><html><body><script>fetch('/admin/')</script></body></html>"


def picture(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 20), (30, 90, 160)).save(out, fmt)
    return out.getvalue()


# Real first bytes of each format (ISO-BMFF boxes complete, as files have them).
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08free"
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00\x00\x00\x08meta"
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("content", "proven"),
    [
        (picture("JPEG"), "image/jpeg"),
        (picture("PNG"), "image/png"),
        (picture("WEBP"), "image/webp"),
        (HEIC, "image/heic"),
        (MP4, "video/mp4"),
        (WEBM, "video/webm"),
        (PDF, "application/pdf"),
        (HTML, ""),
        (SVG, ""),
        (picture("GIF"), ""),  # a real picture, but not one we show
        (b"\x00\x00\x00\x18ftyp", ""),  # an ISO box cut short proves nothing
        (b"", ""),
    ],
    ids=["jpeg", "png", "webp", "heic", "mp4", "webm", "pdf", "html", "svg", "gif", "short-ftyp", "empty"],
)
def test_the_proven_type_comes_from_the_bytes(content, proven):
    from kyc import media_serving

    assert media_serving.proven_type(content) == proven


def stored(content: bytes, declared: str, *, proven: str | None = None) -> Media:
    session = SessionFactory(status="declined")
    media = Media(
        session=session,
        provider_media_id=hashlib.sha256(content + declared.encode()).hexdigest()[:12],
        context="document-front",
        mime_type=declared,
        state=Media.State.STORED,
        size=len(content),
    )
    media.file.save(f"evidence/test/{media.provider_media_id}", ContentFile(content), save=False)
    media.save()
    return media


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw-boss-123"))
    return client


@pytest.fixture
def staff_api():
    _, raw = api_key_create(name="staff client", scopes=["read", "staff"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return api


def admin_get(client, media):
    return client.get(f"/admin/kyc/media/{media.pk}/content/")


def api_get(api, media):
    return api.get(f"/api/v1/staff/media/{media.pk}/content/")


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def assert_locked_down(response):
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"


@pytest.mark.parametrize("declared", ["text/html", "image/jpeg", ""])
def test_html_bytes_are_a_download_never_a_page_on_the_admin_origin(admin_client, declared):
    media = stored(HTML, declared)
    response = admin_get(admin_client, media)
    assert response.status_code == 200 and body(response) == HTML  # nothing lost: staff can still get it
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert_locked_down(response)


def test_html_bytes_through_the_api_are_an_octet_stream_attachment(staff_api):
    media = stored(HTML, "text/html")
    assert staff_api.get(f"/api/v1/staff/media/{media.pk}/").json()["proven_type"] == ""
    response = api_get(staff_api, media)
    assert response.status_code == 200 and body(response) == HTML
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert_locked_down(response)


@pytest.mark.parametrize(
    ("content", "declared", "served"),
    [
        (picture("JPEG"), "image/jpeg", "image/jpeg"),
        (picture("PNG"), "text/html", "image/png"),  # the bytes decide, not the provider's word
        (picture("WEBP"), "image/webp", "image/webp"),
        (MP4, "video/mp4", "video/mp4"),
        (WEBM, "video/webm", "video/webm"),
    ],
    ids=["jpeg", "png-declared-html", "webp", "mp4", "webm"],
)
def test_proven_pictures_and_videos_are_shown_inline_sandboxed(admin_client, content, declared, served):
    response = admin_get(admin_client, stored(content, declared))
    assert response.status_code == 200 and body(response) == content
    assert response["Content-Type"] == served
    assert response["Content-Disposition"] == "inline"
    assert response["Content-Length"] == str(len(content))
    assert_locked_down(response)


def test_a_pdf_is_always_downloaded(admin_client, staff_api):
    media = stored(PDF, "application/pdf")
    for response in (admin_get(admin_client, media), api_get(staff_api, media)):
        assert response.status_code == 200 and body(response) == PDF
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment")
        assert_locked_down(response)


def test_the_served_type_is_read_from_the_stored_file_not_from_the_recorded_type(admin_client):
    # A row recorded as a proven JPEG whose file holds HTML (replaced in storage, or recorded
    # before the check existed) is still served as a download.
    media = stored(HTML, "image/jpeg")
    Media.objects.filter(pk=media.pk).update(proven_type="image/jpeg")
    response = admin_get(admin_client, media)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")


@pytest.fixture
def pending_html(settings):
    session = SessionFactory()
    [media_id] = kyc_media.media_register(
        session_id=session.pk,
        items=[MediaItem(provider_media_id="m-html", context="document-front", mime_type="text/html")],
    )
    return Media.objects.get(pk=media_id)


@responses.activate
def test_the_download_records_the_proven_type_beside_the_declared_one(settings, pending_html):
    responses.get(f"{veriff_options(settings).api_url}/media/m-html", body=HTML, content_type="text/html")
    media = media_service.media_download(media_id=pending_html.pk)
    assert media.state == Media.State.STORED and media.mime_type == "text/html"
    assert media.proven_type == ""
    assert not media.file.name.endswith((".html", ".htm"))


@responses.activate
def test_a_downloaded_jpeg_is_recorded_as_proven(settings, pending_html):
    content = picture("JPEG")
    responses.get(f"{veriff_options(settings).api_url}/media/m-html", body=content)
    media = media_service.media_download(media_id=pending_html.pk)
    assert media.proven_type == "image/jpeg" and media.file.name.endswith(".jpg")
