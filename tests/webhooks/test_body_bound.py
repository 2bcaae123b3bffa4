"""A provider's own bound on its webhook bodies (Provider.max_webhook_body: ShareID's callback
carries base64 images, far above Django's DATA_UPLOAD_MAX_MEMORY_SIZE), on its URL alone: a body
within it is stored whole and answered 200 at once; one over it, or without a Content-Length, is
refused 413 unread and traced as a rejected delivery."""

from __future__ import annotations

import json
import time

import pytest
from django.conf import settings as django_settings

from kyc.services import provider_sessions, sessions
from tests.providers import fakes
from tests.providers.fakes import PullFake
from webhooks.models import InboundEvent

pytestmark = pytest.mark.django_db

MB = 2**20


@pytest.fixture(autouse=True)
def _fakes(settings):
    fakes.use_providers(settings, fakes.FAKES)


@pytest.fixture
def token(customer) -> str:
    session = sessions.verification_start(customer=customer, provider="pullfake", actor_label="test")
    provider_sessions.session_create_at_provider(session_id=session.pk)
    return fakes.CREATED[0].notification_token


def _body(size: int) -> bytes:
    """A callback of about `size` bytes, its bulk an image's base64 text."""
    head = json.dumps({"id": "x", "images": {"doc_front": ""}}).encode()
    return head.replace(b'""', b'"' + b"A" * (size - len(head)) + b'"')


def test_an_8_mb_callback_with_a_known_token_is_stored_whole_and_answered_200_at_once(
    client, token, django_capture_on_commit_callbacks
):
    body = _body(8 * MB)
    assert len(body) > django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    with django_capture_on_commit_callbacks(execute=False):  # processing is not the answer's
        started = time.monotonic()
        answer = client.post(f"/webhooks/pullfake/?token={token}", data=body, content_type="application/json")
        elapsed = time.monotonic() - started
    assert answer.status_code == 200
    assert elapsed < 3.0  # ShareID's deadline; nothing decodes the images on this path
    event = InboundEvent.objects.get()
    assert event.authenticated and bytes(event.body) == body


def test_a_callback_over_the_bound_is_refused_unread_and_traced_without_its_body(client, token):
    body = _body(PullFake.max_webhook_body + 1)
    answer = client.post(f"/webhooks/pullfake/?token={token}", data=body, content_type="application/json")
    assert answer.status_code == 413
    assert "over this URL's bound" in answer.json()["message"]
    event = InboundEvent.objects.get()
    assert event.state == InboundEvent.State.REJECTED and not event.authenticated
    assert bytes(event.body) == b"" and event.body_size == len(body)
    assert event.auth_error.startswith("body_refused:")
    assert token not in json.dumps([event.query, event.headers])


def test_a_callback_without_a_content_length_is_refused_unread(client, token):
    answer = client.post(
        f"/webhooks/pullfake/?token={token}",
        data=b'{"id": "x"}',
        content_type="application/json",
        CONTENT_LENGTH="",
    )
    assert answer.status_code == 413 and "Content-Length" in answer.json()["message"]
    event = InboundEvent.objects.get()
    assert event.state == InboundEvent.State.REJECTED and event.body_size is None


def test_other_providers_keep_djangos_bound(client, customer):
    body = _body(django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    answer = client.post("/webhooks/hintfake/", data=body, content_type="application/json")
    assert answer.status_code == 400
    assert not InboundEvent.objects.exists()
