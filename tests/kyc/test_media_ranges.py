"""Seeking in a long video (issue 12, glitches): the media views answer a byte range with 206,
Content-Range and Accept-Ranges, a range past the end with 416, and audit one opening, not one
entry per range a player asks for."""

import pytest
from django.contrib.auth.models import User

from kyc.models import AuditEvent
from tests.kyc.test_media_serving import MP4, api_get, body, staff_api, stored  # noqa: F401

pytestmark = pytest.mark.django_db

VIDEO = MP4 + bytes(range(256)) * 40  # proven an MP4 by its first bytes, 10 KiB long


@pytest.fixture
def boss(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw-boss-123"))
    return client


def get(client, media, range_header=None):
    extra = {"HTTP_RANGE": range_header} if range_header else {}
    return client.get(f"/admin/kyc/media/{media.pk}/content/", **extra)


def test_a_whole_file_says_ranges_are_accepted(boss):
    response = get(boss, stored(VIDEO, "video/mp4"))
    assert response.status_code == 200 and body(response) == VIDEO
    assert response["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize(
    ("asked", "first", "last"),
    [
        ("bytes=0-", 0, len(VIDEO) - 1),
        ("bytes=100-199", 100, 199),
        ("bytes=-50", len(VIDEO) - 50, len(VIDEO) - 1),
    ],
    ids=["open-ended", "middle", "suffix"],
)
def test_a_range_is_answered_with_206_and_only_those_bytes(boss, asked, first, last):
    response = get(boss, stored(VIDEO, "video/mp4"), asked)
    assert response.status_code == 206
    assert body(response) == VIDEO[first : last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(VIDEO)}"
    assert response["Content-Length"] == str(last - first + 1)
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "video/mp4" and response["Content-Disposition"] == "inline"
    assert (
        response["X-Content-Type-Options"] == "nosniff" and response["Content-Security-Policy"] == "sandbox"
    )


def test_a_range_past_the_end_is_416_with_the_size(boss):
    response = get(boss, stored(VIDEO, "video/mp4"), f"bytes={len(VIDEO)}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(VIDEO)}"


def test_a_range_reaching_past_the_end_is_cut_at_the_end(boss):
    response = get(boss, stored(VIDEO, "video/mp4"), f"bytes=10-{len(VIDEO) + 1000}")
    assert response.status_code == 206 and body(response) == VIDEO[10:]


@pytest.mark.parametrize("asked", ["bytes=0-9,20-29", "bytes=9-3", "items=0-9", "bytes=abc"])
def test_several_ranges_or_a_malformed_one_get_the_whole_file(boss, asked):
    response = get(boss, stored(VIDEO, "video/mp4"), asked)
    assert response.status_code == 200 and body(response) == VIDEO


def test_a_players_range_requests_are_one_audited_view(boss):
    media = stored(VIDEO, "video/mp4")
    for asked in ("bytes=0-", "bytes=4000-", "bytes=9000-"):
        assert get(boss, media, asked).status_code == 206
    assert AuditEvent.objects.filter(action="media.viewed", object_id=str(media.pk)).count() == 1


def test_every_whole_view_is_still_audited(boss):
    media = stored(VIDEO, "video/mp4")
    get(boss, media)
    get(boss, media, "bytes=0-")  # the player of the same opening: no second entry
    get(boss, media)
    assert AuditEvent.objects.filter(action="media.viewed", object_id=str(media.pk)).count() == 2


def test_the_api_download_answers_ranges_too(staff_api):  # noqa: F811
    media = stored(VIDEO, "video/mp4")
    response = api_get(staff_api, media)
    assert response["Accept-Ranges"] == "bytes"
    response = staff_api.get(f"/api/v1/staff/media/{media.pk}/content/", HTTP_RANGE="bytes=5-14")
    assert response.status_code == 206 and body(response) == VIDEO[5:15]
    assert response["Content-Disposition"].startswith("attachment")
