"""Retries are visible on the work (next try due), capped, and end parked for a human, who can
send the work off again from the admin. Faults at the HTTP boundary (responses)."""

import datetime as dt

import pytest
import responses
from celery.exceptions import Retry
from django.utils import timezone

from kyc import tasks
from kyc.models import AuditEvent, Media, VerificationSession
from kyc.services import media as kyc_media
from kyc.services import retries
from providers.base import MediaItem
from tests.factories import CustomerFactory, SessionFactory
from tests.providers_config import veriff_options

pytestmark = pytest.mark.django_db


def run_as_worker(task, *args, retries: int):
    """Run a task body as a worker's delivery number `retries + 1` (not in-process/eager)."""
    task.push_request(retries=retries, is_eager=False, called_directly=False)
    try:
        return task.run(*args)
    finally:
        task.pop_request()


@pytest.fixture
def pending_media(settings):
    session = SessionFactory()
    [media_id] = kyc_media.media_register(
        session_id=session.pk,
        items=[MediaItem(provider_media_id="m-1", context="face", mime_type="image/png")],
    )
    return Media.objects.get(pk=media_id)


@pytest.fixture
def no_broker(monkeypatch):
    """A retry goes to the broker; here it goes nowhere (we look at what it recorded)."""
    monkeypatch.setattr(tasks.media_download, "apply_async", lambda *a, **k: None)
    monkeypatch.setattr(tasks.session_create_at_provider, "apply_async", lambda *a, **k: None)


@responses.activate
def test_a_transient_failure_schedules_a_retry_with_capped_jittered_backoff(
    settings, pending_media, no_broker
):
    responses.get(f"{veriff_options(settings).api_url}/media/m-1", status=503)
    before = timezone.now()
    with pytest.raises(Retry) as raised:
        run_as_worker(tasks.media_download, pending_media.pk, retries=3)
    pending_media.refresh_from_db()
    assert pending_media.state == Media.State.PENDING and pending_media.parked_at is None
    # Retry 4: full jitter between 0 and 2 * 2**3 = 16 seconds, and the due time is on the row.
    countdown = (pending_media.next_attempt_at - before).total_seconds()
    assert 0 <= countdown <= 16 + 1
    assert raised.value.when is not None
    assert pending_media.download_attempts == 1 and "503" in pending_media.error


def test_backoff_grows_and_is_capped():
    assert all(tasks.backoff(n) <= 2 * 2**n for n in range(6))
    assert max(tasks.backoff(20) for _ in range(50)) <= tasks.BACKOFF_MAX


@responses.activate
def test_after_the_last_retry_the_download_is_parked_and_audited(settings, pending_media, no_broker):
    responses.get(f"{veriff_options(settings).api_url}/media/m-1", status=503)
    run_as_worker(tasks.media_download, pending_media.pk, retries=tasks.MAX_RETRIES)
    pending_media.refresh_from_db()
    assert pending_media.state == Media.State.FAILED and pending_media.parked_at
    assert pending_media.next_attempt_at is None
    assert "gave up after 9 tries" in pending_media.error
    assert AuditEvent.objects.filter(action="media.parked", object_id=str(pending_media.pk)).exists()


@responses.activate
def test_a_permanent_failure_is_parked_at_once(settings, pending_media, no_broker):
    responses.get(f"{veriff_options(settings).api_url}/media/m-1", status=404, json={"status": "fail"})
    run_as_worker(tasks.media_download, pending_media.pk, retries=0)
    pending_media.refresh_from_db()
    assert pending_media.parked_at and pending_media.state == Media.State.FAILED


@responses.activate
def test_a_parked_download_is_not_picked_up_by_a_stray_task_but_staff_can_send_it_again(
    settings, pending_media, django_capture_on_commit_callbacks
):
    content = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    responses.get(f"{veriff_options(settings).api_url}/media/m-1", body=content)
    Media.objects.filter(pk=pending_media.pk).update(parked_at=timezone.now(), state=Media.State.FAILED)
    tasks.media_download(pending_media.pk)  # e.g. a late redelivery of an old message
    assert len(responses.calls) == 0

    with django_capture_on_commit_callbacks(execute=True):
        assert retries.media_unpark(media_id=pending_media.pk) is True  # in-process: downloads now
    pending_media.refresh_from_db()
    assert pending_media.state == Media.State.STORED and pending_media.parked_at is None
    assert AuditEvent.objects.filter(action="media.retry_requested").exists()


@responses.activate
def test_session_creation_gives_up_parked_and_counts_its_calls(settings, no_broker):
    responses.post(f"{veriff_options(settings).api_url}/sessions", status=500)
    session = VerificationSession.objects.create(customer=CustomerFactory(), provider="veriff")
    with pytest.raises(Retry):
        run_as_worker(tasks.session_create_at_provider, session.pk, retries=0)
    session.refresh_from_db()
    assert session.provider_next_attempt_at > timezone.now() - dt.timedelta(seconds=1)
    run_as_worker(tasks.session_create_at_provider, session.pk, retries=tasks.MAX_RETRIES)
    session.refresh_from_db()
    assert session.parked_at and session.provider_attempts == 2 and session.provider_error
    assert AuditEvent.objects.filter(action="session.parked", session=session).exists()
    # Parked: a stray task does not call the provider again.
    run_as_worker(tasks.session_create_at_provider, session.pk, retries=0)
    assert len(responses.calls) == 2
