"""A large generated video (control endpoint): listed like any video, streamed in bounded chunks,
signed and timestamped over exactly the bytes served, the same bytes every time."""

import hashlib

import pytest

from providers.veriff.sandbox import large_video

pytestmark = pytest.mark.django_db(transaction=True)

SIZE = 3 * large_video.BLOCK_SIZE + 12_345  # several blocks and a partial one


def attach(control, session_id, size=SIZE):
    return control.post(f"/sessions/{session_id}/media/large-video", {"size": size})


@pytest.fixture
def session(api):
    return api.create_session(person={"firstName": "Ada", "lastName": "Example"})


@pytest.fixture
def decided_with_large_video(api, control, webhooks, session):
    response = attach(control, session["id"])
    assert response.status_code == 201, response.content
    control.decide(session["id"], status="approved")
    return session


def listed_video(api, session):
    response = api.get(f"/sessions/{session['id']}/media", session["id"])
    (video,) = response.json()["videos"]
    return video


def download(api, item):
    response = api.get_url(item["url"], item["id"])
    assert response.status_code == 200 and response.streaming
    chunks = list(response.streaming_content)
    return response, chunks


def test_the_attempt_lists_the_large_video_in_place_of_the_small_one(api, decided_with_large_video):
    video = listed_video(api, decided_with_large_video)
    media = api.get(
        f"/sessions/{decided_with_large_video['id']}/media", decided_with_large_video["id"]
    ).json()
    assert video["size"] == SIZE and video["mimetype"] == "video/mp4"
    assert {i["name"] for i in media["images"]} == {"document-front", "document-back", "face"}


def test_download_streams_exactly_the_announced_bytes_in_bounded_chunks(api, decided_with_large_video):
    response, chunks = download(api, listed_video(api, decided_with_large_video))
    content = b"".join(chunks)
    assert len(content) == SIZE == int(response["Content-Length"])
    assert content[4:8] == b"ftyp" and content[28:32] == b"mdat"
    assert int.from_bytes(content[32:40], "big") == SIZE - 24  # the mdat box runs to the end
    assert max(len(c) for c in chunks) <= large_video.CHUNK_SIZE


def test_download_is_signed_and_timestamped_over_the_bytes_served(api, decided_with_large_video):
    video = listed_video(api, decided_with_large_video)
    response, chunks = download(api, video)
    content = b"".join(chunks)
    assert api.is_signed(response.headers, content)
    stamp = api.get_url(video["timestamp"]["url"], video["timestamp"]["id"]).json()["timestamp"]
    assert stamp["dataHash"]["value"] == hashlib.sha256(content).hexdigest()


def test_the_bytes_are_the_same_on_every_download_and_no_two_blocks_are_alike(api, decided_with_large_video):
    video = listed_video(api, decided_with_large_video)
    first = b"".join(download(api, video)[1])
    assert first == b"".join(download(api, video)[1])
    payload = first[large_video.HEADER_SIZE :]
    blocks = {payload[i : i + large_video.BLOCK_SIZE] for i in range(0, len(payload), large_video.BLOCK_SIZE)}
    assert len(blocks) == 4


@pytest.mark.parametrize("size", [None, "big", True, -1, 10, large_video.MAX_SIZE + 1])
def test_a_missing_or_impossible_size_is_a_400(control, session, size):
    response = attach(control, session["id"], size)
    assert response.status_code == 400
    assert "size" in response.json()["message"]


def test_an_unknown_session_is_a_404(control):
    assert attach(control, "7b3c0a1e-0000-4000-8000-000000000000").status_code == 404


def test_a_submitted_or_decided_session_takes_no_more_media(control, webhooks, session):
    control.decide(session["id"], status="approved")
    assert attach(control, session["id"]).status_code == 409
