"""Media: generated evidence, API uploads, listings and streamed downloads (providers/veriff/README.md,
"Endpoints")."""

import base64
import hashlib
import io

import pytest
from PIL import Image

from providers.veriff.sandbox.models import SandboxMedia

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def decided(api, control, webhooks):
    session = api.create_session(
        person={"firstName": "Jürgen", "lastName": "Müller"},
        document={"type": "DRIVERS_LICENSE", "country": "DE"},
    )
    control.decide(session["id"], status="approved")
    return session


def listing(api, session):
    response = api.get(f"/sessions/{session['id']}/media", session["id"])
    assert response.status_code == 200
    assert api.is_signed(response.headers, response.content)
    return response.json()


def download(api, item):
    response = api.get_url(item["url"], item["id"])
    assert response.status_code == 200
    assert response.streaming
    content = b"".join(response.streaming_content)
    return response, content


def test_a_submitted_attempt_has_two_document_photos_a_face_and_a_video(api, decided):
    media = listing(api, decided)

    assert sorted((m["name"], m["mimetype"]) for m in media["images"]) == [
        ("document-back", "image/jpeg"),
        ("document-front", "image/jpeg"),
        ("face", "image/png"),
    ]
    (video,) = media["videos"]
    assert video["name"] == "video" and video["mimetype"] == "video/mp4" and video["duration"] == 2
    for item in media["images"] + media["videos"]:
        assert item["url"] == f"{api.public_url}/sandbox/veriff/v1/media/{item['id']}"
        assert item["size"] > 0
        assert set(item["timestamp"]) == {"url", "id"}


def test_downloaded_images_are_real_images_of_the_announced_type(api, decided):
    for item in listing(api, decided)["images"]:
        response, content = download(api, item)

        assert response["Content-Type"] == item["mimetype"]
        assert len(content) == item["size"]
        image = Image.open(io.BytesIO(content))
        image.load()
        assert image.format == {"image/jpeg": "JPEG", "image/png": "PNG"}[item["mimetype"]]
        assert image.width >= 200


def test_downloaded_video_is_an_mp4(api, decided):
    (video,) = listing(api, decided)["videos"]
    response, content = download(api, video)

    assert response["Content-Type"] == "video/mp4"
    assert content[4:8] == b"ftyp"
    assert len(content) == video["size"]


def test_download_is_signed_over_the_file(api, decided):
    item = listing(api, decided)["images"][0]
    response, content = download(api, item)
    assert api.is_signed(response.headers, content)


def test_download_needs_the_media_id_signature(api, decided):
    item = listing(api, decided)["images"][0]
    response = api.get_url(item["url"], decided["id"])
    assert response.status_code == 401
    assert response.json()["code"] == "1818"


def test_attempt_media_lists_only_that_attempt(api, control, webhooks):
    session = api.create_session()
    control.decide(session["id"], status="resubmission_requested")
    control.decide(session["id"], status="approved")
    attempts = api.get(f"/sessions/{session['id']}/attempts", session["id"]).json()["verifications"]

    ids_by_attempt = []
    for attempt in attempts:
        media = api.get(f"/attempts/{attempt['id']}/media", attempt["id"]).json()
        ids_by_attempt.append({m["id"] for m in media["images"] + media["videos"]})

    first, second = ids_by_attempt
    assert len(first) == len(second) == 4
    assert not first & second
    everything = listing(api, session)
    assert {m["id"] for m in everything["images"] + everything["videos"]} == first | second


def test_uploaded_photos_are_kept_and_the_rest_is_generated_on_submit(api, webhooks):
    session = api.create_session()
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "green").save(buffer, format="JPEG")
    upload = {"image": {"context": "face", "content": base64.b64encode(buffer.getvalue()).decode()}}

    uploaded = api.post(f"/sessions/{session['id']}/media", upload).json()["image"]
    api.submit(session["id"])

    media = listing(api, session)
    faces = [m for m in media["images"] if m["name"] == "face"]
    assert [m["id"] for m in faces] == [uploaded["id"]]
    assert sorted(m["name"] for m in media["images"]) == ["document-back", "document-front", "face"]
    _, content = download(api, faces[0])
    assert content == buffer.getvalue()
    assert webhooks.codes() == [7001, 7002]


def test_timestamps_report_each_files_hash(api, decided):
    timestamps = api.get(f"/sessions/{decided['id']}/timestamps", decided["id"]).json()["timestamps"]
    assert len(timestamps) == 4
    first = timestamps[0]
    detail = api.get_url(first["url"], first["id"]).json()["timestamp"]
    media = SandboxMedia.objects.get(timestamp_id=first["id"])
    assert detail["dataHash"] == {
        "algorithm": "SHA-256",
        "value": hashlib.sha256(bytes(media.content)).hexdigest(),
    }


@pytest.mark.parametrize(
    ("first_name", "status", "code", "reason_code"),
    [
        ("Approve", "approved", 9001, None),
        ("Decline", "declined", 9102, 102),
        ("Resubmit", "resubmission_requested", 9103, 204),
    ],
)
def test_magic_first_names_are_decided_right_after_an_api_submission(
    api, webhooks, first_name, status, code, reason_code
):
    session = api.create_session(person={"firstName": first_name, "lastName": "Tester"})

    response = api.submit(session["id"])

    assert response.json()["verification"]["status"] == "submitted"
    assert webhooks.codes() == [7001, 7002, code]
    decision = webhooks.bodies()[-1]["verification"]
    assert decision["status"] == status and decision["reasonCode"] == reason_code


def test_an_ordinary_name_waits_for_a_decision_after_submission(api, webhooks):
    session = api.create_session(person={"firstName": "Approver"})
    api.submit(session["id"])
    assert webhooks.codes() == [7001, 7002]
    assert api.get(f"/sessions/{session['id']}/decision", session["id"]).json()["verification"] is None


def test_media_for_a_decided_session_is_1304(api, decided):
    upload = {"image": {"context": "face", "content": base64.b64encode(b"x").decode()}}
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    upload["image"]["content"] = base64.b64encode(buffer.getvalue()).decode()

    response = api.post(f"/sessions/{decided['id']}/media", upload)

    assert response.status_code == 400
    assert response.json()["code"] == "1304"
