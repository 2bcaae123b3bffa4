"""Celery tasks: thin. They take ids, call a service, and decide retry versus park.

Retries use Celery's own exponential backoff with full jitter and a cap. When tasks run in-process
(no broker, development) a failure is recorded instead of retried in a loop inside the request;
the end user's retry page and staff actions re-enqueue.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval

from kyc import media, services
from providers.base import ProviderError
from providers.registry import get_provider

logger = logging.getLogger(__name__)

MAX_RETRIES = 8
BACKOFF_FACTOR = 2
BACKOFF_MAX = 600


def _retry_or_park(task, exc: ProviderError) -> None:
    """Retry a transient provider error; a permanent one, or the last retry, stays recorded."""
    if exc.permanent or task.request.is_eager or task.request.retries >= task.max_retries:
        logger.warning("task %s gave up after %s tries: %s", task.name, task.request.retries + 1, exc)
        return
    countdown = get_exponential_backoff_interval(
        BACKOFF_FACTOR, task.request.retries, BACKOFF_MAX, full_jitter=True
    )
    logger.info("task %s retrying in %ss: %s", task.name, countdown, exc)
    raise task.retry(exc=exc, countdown=countdown)


@shared_task(bind=True, max_retries=MAX_RETRIES)
def session_create_at_provider(self, session_id: int) -> None:
    try:
        services.session_create_at_provider(session_id=session_id)
    except ProviderError as exc:
        _retry_or_park(self, exc)


@shared_task(bind=True, max_retries=MAX_RETRIES)
def session_media_sync(self, session_id: int) -> None:
    """List the session's media at the provider and download what we do not have yet."""
    from kyc.models import VerificationSession

    session = VerificationSession.objects.get(pk=session_id)
    try:
        items = get_provider(session.provider).list_media(session.provider_session_id)
    except ProviderError as exc:
        _retry_or_park(self, exc)
        return
    for media_id in services.media_register(session_id=session_id, items=items):
        media_download.delay(media_id)


@shared_task(bind=True, max_retries=MAX_RETRIES)
def media_download(self, media_id: int) -> None:
    try:
        media.media_download(media_id=media_id)
    except ProviderError as exc:
        _retry_or_park(self, exc)
