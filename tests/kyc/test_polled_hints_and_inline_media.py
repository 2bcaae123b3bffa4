"""A polled provider's callback (ShareID's shape, the pull fake of tests/providers/fakes.py): only
a hint that brings the next poll forward, about its token's session alone; and the images that
come inline, with a fetched result or with a callback, stored once as any media."""

from __future__ import annotations

import base64
import hashlib
import json
import os

import pytest
from django.utils import timezone

from kyc import status as st
from kyc.models import AuditEvent, Media, VerificationSession
from kyc.operations.polling import poll_due
from kyc.services import provider_sessions, sessions
from tests.providers import fakes
from tests.providers.fakes import PNG
from webhooks.models import InboundEvent

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _fakes(settings):
    fakes.use_providers(settings, fakes.FAKES)


def _created(customer) -> VerificationSession:
    session = sessions.verification_start(customer=customer, provider="pullfake", actor_label="test")
    return provider_sessions.session_create_at_provider(session_id=session.pk)


def _token(session) -> str:
    (request,) = [r for r in fakes.CREATED if r.reference == str(session.reference)]
    return request.notification_token


def _callback(client, capture, session, body: dict, *, token: str | None = None):
    with capture(execute=True):
        return client.post(
            f"/webhooks/pullfake/?token={token or _token(session)}",
            data=json.dumps(body).encode(),
            content_type="application/json",
        )


def _images(**named: bytes) -> dict[str, str]:
    return {name: base64.b64encode(content).decode() for name, content in named.items()}


def test_a_callback_that_claims_an_approval_changes_nothing_by_itself_and_makes_a_poll_due(
    client, customer, django_capture_on_commit_callbacks
):
    session = _created(customer)
    body = {"id": session.provider_session_id, "reasons": [], "status": "approved"}
    fakes.FETCH_ANSWERS.append(None)  # what the provider says when asked: not ready

    answer = _callback(client, django_capture_on_commit_callbacks, session, body)

    assert answer.status_code == 200
    session.refresh_from_db()
    assert session.status == st.CREATED and not session.decisions.exists()
    assert fakes.FETCHED == []  # nothing fetched beside the poller
    assert session.poll_next_at is not None and session.poll_next_at <= timezone.now()
    assert _poll(session).not_ready == 1  # the poll: still not ready
    session.refresh_from_db()
    assert session.status == st.CREATED and session.poll_next_at > timezone.now()


def test_a_replayed_callback_is_harmless(client, customer, django_capture_on_commit_callbacks):
    session = _created(customer)
    body = {"id": session.provider_session_id, "images": _images(doc_front=PNG + b"f")}
    for _ in range(2):
        assert _callback(client, django_capture_on_commit_callbacks, session, body).status_code == 200
    assert InboundEvent.objects.get().duplicates == 1
    assert Media.objects.filter(session=session).count() == 1
    session.refresh_from_db()
    assert session.status == st.CREATED


def test_a_callback_about_an_applicant_a_later_launch_replaced_is_found_by_its_token(
    client, customer, django_capture_on_commit_callbacks
):
    session = _created(customer)
    replaced = session.provider_session_id
    client.get(f"/verify/s/{session.reference}/")  # a new onboarding: a new applicant id
    session.refresh_from_db()
    assert session.provider_session_id != replaced

    body = {"id": replaced, "images": _images(face_face=JPEG + b"face")}
    assert _callback(client, django_capture_on_commit_callbacks, session, body).status_code == 200

    assert InboundEvent.objects.get().state == InboundEvent.State.PROCESSED  # not left waiting
    session.refresh_from_db()
    assert session.poll_next_at <= timezone.now()
    assert Media.objects.get(session=session).sha256 == hashlib.sha256(JPEG + b"face").hexdigest()


def test_a_body_naming_another_sessions_id_reaches_only_its_tokens_session(
    client, customer, django_capture_on_commit_callbacks
):
    ours = _created(customer)
    other = _created(customer.__class__.objects.create(external_ref="C-2", country="GB"))
    VerificationSession.objects.filter(pk=other.pk).update(poll_next_at=None)

    body = {"id": other.provider_session_id, "images": _images(doc_front=PNG + b"planted")}
    assert _callback(client, django_capture_on_commit_callbacks, ours, body).status_code == 200

    other.refresh_from_db()
    assert other.poll_next_at is None and not other.media.exists()
    assert ours.media.get().provider_media_id == "doc_front"


def test_a_callbacks_images_are_kept_though_its_verdict_is_not(
    client, customer, django_capture_on_commit_callbacks, settings
):
    session = _created(customer)
    body = {"id": session.provider_session_id, "status": "approved", "images": _images(doc_front=PNG + b"f")}
    _callback(client, django_capture_on_commit_callbacks, session, body)

    media = Media.objects.get(session=session)
    assert media.state == Media.State.STORED and media.proven_type == "image/png"
    assert media.sha256 == hashlib.sha256(PNG + b"f").hexdigest() and media.size == len(PNG) + 1
    with media.file.open("rb") as stored:
        assert stored.read() == PNG + b"f"
    assert AuditEvent.objects.filter(session=session, action="media.stored").count() == 1
    assert not os.listdir(os.path.join(settings.MEDIA_ROOT, "tmp"))  # no half file left
    session.refresh_from_db()
    assert session.status == st.CREATED


def test_an_image_by_callback_and_by_fetch_is_one_media_and_the_listing_is_done(
    client, customer, django_capture_on_commit_callbacks
):
    """ShareID may send the images in the callback, in the fetched result, or in both."""
    session = _created(customer)
    front, face = PNG + b"front", JPEG + b"face"
    body = {"id": session.provider_session_id, "images": _images(doc_front=front)}
    _callback(client, django_capture_on_commit_callbacks, session, body)
    fakes.FETCH_ANSWERS.append(
        fakes.approval(
            session.provider_session_id,
            media=(fakes.inline("doc_front", front), fakes.inline("face_face", face, "face")),
        )
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert _poll(session).applied == 1

    session.refresh_from_db()
    assert session.poll_next_at is None  # decided: polling ends

    session.refresh_from_db()
    assert session.status == st.APPROVED
    stored = {m.provider_media_id: m for m in session.media.all()}
    assert set(stored) == {"doc_front", "face_face"}
    assert {m.state for m in stored.values()} == {Media.State.STORED}
    assert stored["face_face"].proven_type == "image/jpeg"
    assert AuditEvent.objects.filter(session=session, action="media.stored").count() == 2
    # The decision's own images are its listing: none is asked of the provider after it, and
    # reconciliation finds the listing made after the decision.
    assert fakes.LISTED == [] and session.media_listed_at >= session.decided_at


def test_inline_media_show_on_the_case_page_and_are_served_like_any(
    client, customer, analyst, django_capture_on_commit_callbacks
):
    session = _created(customer)
    fakes.FETCH_ANSWERS.append(
        fakes.approval(session.provider_session_id, media=(fakes.inline("doc_front", PNG + b"front"),))
    )
    with django_capture_on_commit_callbacks(execute=True):
        _poll(session)
    media = Media.objects.get(session=session)

    client.force_login(analyst)
    page = client.get(f"/admin/kyc/case/{session.pk}/change/").content.decode()
    assert f"/admin/kyc/media/{media.pk}/content/" in page and 'data-context="document-front"' in page
    served = client.get(f"/admin/kyc/media/{media.pk}/content/")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content if served.streaming else [served.content]) == PNG + b"front"


def _poll(session):
    """The poller's next pass, with the session due now (as a hint or its interval makes it)."""
    VerificationSession.objects.filter(pk=session.pk).update(poll_next_at=timezone.now())
    return poll_due()
