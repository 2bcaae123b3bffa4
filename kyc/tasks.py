"""Celery tasks: thin. They take ids (never personal data), call a service, and decide retry
versus park.

Every task is acknowledged late and re-delivered if its worker dies (config/settings.py), so each
is safe to run twice: the services it calls find done work done. Retries use Celery's own
exponential backoff with full jitter and a cap; the due time of the next try is written on the
work itself (visible in the admin), and after the last retry the work is parked there for a human
(kyc/services/parking.py). When tasks run in-process (no broker, development) a failure is
recorded instead of retried in a loop inside the request; the end user's retry page, staff
actions and reconciliation re-enqueue.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Callable

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from kyc import media
from kyc.models import Media, VerificationSession
from kyc.selectors import session_person_id
from kyc.services import parking, provider_sessions, screening
from kyc.services.media import media_register_pending
from providers.base import ProviderError
from providers.registry import get_provider

logger = logging.getLogger(__name__)

MAX_RETRIES = 8
BACKOFF_FACTOR = 2
BACKOFF_MAX = 600


def backoff(retries: int) -> int:
    """Seconds before retry number `retries + 1`: exponential, capped, fully jittered."""
    return get_exponential_backoff_interval(BACKOFF_FACTOR, retries, BACKOFF_MAX, full_jitter=True)


def _retry_or_park(
    task,
    exc: ProviderError,
    *,
    on_retry: Callable[[float], None] | None = None,
    on_park: Callable[[str], None] | None = None,
) -> None:
    """Retry a transient provider error; park a permanent one, or the work after its last retry."""
    retries = task.request.retries
    if exc.permanent or (not task.request.is_eager and retries >= task.max_retries):
        logger.warning("task %s parked after %s tries: %s", task.name, retries + 1, exc)
        if on_park is not None:
            on_park(f"gave up after {retries + 1} tries: {exc}")
        return
    if task.request.is_eager:
        logger.warning("task %s failed in-process, left for a retry: %s", task.name, exc)
        return
    countdown = backoff(retries)
    if on_retry is not None:
        on_retry(countdown)
    # key=value: a log pipeline can count retries per task (README, "Operations").
    logger.info("task_retry task=%s retry=%s countdown=%s error=%s", task.name, retries + 1, countdown, exc)
    raise task.retry(exc=exc, countdown=countdown)


@shared_task(bind=True, max_retries=MAX_RETRIES)
def session_create_at_provider(self, session_id: int, device_data: str = "") -> None:
    # `device_data`: the end user's device fingerprint from the start page, kept nowhere but in
    # this task's arguments (a retry keeps them; a create queued again by reconciliation sends none).
    try:
        provider_sessions.session_create_at_provider(session_id=session_id, device_data=device_data)
    except ProviderError as exc:
        _retry_or_park(
            self,
            exc,
            on_retry=lambda delay: parking.session_schedule_retry(session_id=session_id, countdown=delay),
            on_park=lambda error: parking.session_park(session_id=session_id, error=error),
        )


@shared_task(bind=True, max_retries=MAX_RETRIES)
def session_media_sync(self, session_id: int) -> None:
    """List the session's media at the provider and download what we do not have yet."""
    try:
        _media_sync(session_id)
    except ProviderError as exc:
        # Nothing to park on: reconciliation lists again any session whose listing is missing.
        _retry_or_park(self, exc)


def _media_sync(session_id: int) -> None:
    provider, provider_session_id, customer_id = VerificationSession.objects.values_list(
        "provider", "provider_session_id", "customer_id"
    ).get(pk=session_id)
    items = get_provider(provider).list_media(
        provider_session_id,
        provider_person_id=session_person_id(customer_id=customer_id, provider=provider),
    )
    pending = media_register_pending(session_id=session_id, items=items)
    # Files inline in the listing or in the session's archive are stored here.
    pending = media.media_store_delivered(session_id=session_id, items=items, pending=pending)
    if not settings.KYC_MEDIA_DOWNLOAD_IN_LISTING:
        for row in pending:
            media_download.delay(row.pk)
        return
    _download_in_listing(pending)


# Sessions whose media listing the current task runs itself once its own work is committed
# (media_sync_after); None outside such a task. A context variable: each thread of a worker's
# pool has its own.
_media_syncs_after: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "media_syncs_after", default=None
)


def media_sync_soon(session_id: int) -> None:
    """A decision with media was committed: list and download its media — in the current task
    when it runs inside media_sync_after, else in a session_media_sync task of its own."""
    after = _media_syncs_after.get()
    if after is not None:
        after.append(session_id)
    else:
        session_media_sync.delay(session_id)


@contextlib.contextmanager
def media_sync_after():
    """Within this block (the decision webhook's task), a committed decision's media listing is
    not queued behind every task already waiting but run here when the block ends: the files are
    on disk right after the decision, and one task runs per decision instead of two
    (benchmarks/decision_latency.py). Nothing is lost by this: a failed listing, or any error,
    hands the session to its own session_media_sync task (with its retries); a worker that dies
    in between leaves a listing that reconciliation finds missing and queues again."""
    if not settings.KYC_MEDIA_SYNC_IN_DECISION_TASK or _media_syncs_after.get() is not None:
        yield
        return
    token = _media_syncs_after.set([])
    try:
        yield
        session_ids = _media_syncs_after.get() or []
    finally:
        _media_syncs_after.reset(token)
    for session_id in session_ids:
        try:
            _media_sync(session_id)
        except ProviderError as exc:
            logger.info("media listing of session %s failed, queued on its own: %s", session_id, exc)
            session_media_sync.apply_async((session_id,), countdown=backoff(0))
        except Exception as exc:
            # The decision is applied and committed: whatever went wrong here is the listing's
            # to retry, not the webhook's.
            logger.warning(
                "media listing of session %s failed, queued on its own: %s", session_id, type(exc).__name__
            )
            session_media_sync.delay(session_id)


def _download_in_listing(rows: list[Media]) -> None:
    """Download the session's new files here, one after the other, instead of one task each, and
    store them together (one transaction, one append to the audit trail): a decision's files are
    stored after one task instead of five (benchmarks/decision_latency.py). Each file keeps its
    own guarantees: a stored file is skipped (a re-delivered listing task downloads only what is
    missing), and only a whole file is ever stored. A file that fails gets its own
    media_download task with its retries and park; if something unexpected stops this loop, the
    files received so far are stored and the others get their own tasks."""
    media.media_count_attempts(rows)
    handed_over: set[int] = set()  # parked, or given a task of their own
    with contextlib.ExitStack() as received:
        fetched: list[media.Fetched] = []
        try:
            for row in rows:
                try:
                    fetched.append(received.enter_context(media.media_fetch(row, counted=True)))
                except ProviderError as exc:
                    handed_over.add(row.pk)
                    if exc.permanent:
                        parking.media_park(media_id=row.pk, error=f"gave up after 1 try: {exc}")
                        continue
                    countdown = backoff(0)
                    parking.media_schedule_retry(media_id=row.pk, countdown=countdown)
                    media_download.apply_async((row.pk,), countdown=countdown)
        except Exception:
            with contextlib.suppress(Exception):  # the error that stopped the loop is the one raised
                media.media_store(fetched)
                handed_over.update(f.media_id for f in fetched)
            _hand_over(rows, handed_over)
            raise
        try:
            media.media_store(fetched)
        except Exception:
            _hand_over(rows, handed_over)
            raise


def _hand_over(rows, handed_over: set[int]) -> None:
    """Every file not stored nor handed over yet gets its own media_download task."""
    for row in rows:
        if row.pk not in handed_over:
            media_download.delay(row.pk)


@shared_task(bind=True, max_retries=MAX_RETRIES)
def media_download(self, media_id: int) -> None:
    try:
        media.media_download(media_id=media_id)
    except ProviderError as exc:
        _retry_or_park(
            self,
            exc,
            on_retry=lambda delay: parking.media_schedule_retry(media_id=media_id, countdown=delay),
            on_park=lambda error: parking.media_park(media_id=media_id, error=error),
        )


@shared_task(bind=True, max_retries=MAX_RETRIES)
def session_screen_person(
    self, session_id: int, provider: str | None = None, provider_session_id: str | None = None
) -> None:
    """After a decision: the provider's person record's PEP / sanctions matches (one call)."""
    try:
        screening.session_screen_person(
            session_id=session_id, provider=provider, provider_session_id=provider_session_id
        )
    except ProviderError as exc:
        # Nothing to park on: the decision stands; a later decision reads the record again.
        _retry_or_park(self, exc)
