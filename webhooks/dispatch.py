"""Queueing stored events for processing: batched, from a thread of the receiving process.

Publishing one Celery message costs more CPU than authenticating and storing a delivery together
(Celery's message building, kombu's exchange look-up and a new Redis client per message). So the
receiving process hands each stored event's id to a
background thread, which waits `KYC_WEBHOOK_ENQUEUE_LINGER_MS` for more to arrive and publishes
them as one `inbound_events_process` task (at most `KYC_WEBHOOK_ENQUEUE_BATCH` ids a message). Under
a provider's retry storm the messages get fuller and cheaper per event; a lone delivery waits the
linger and no more.

Nothing depends on this thread for safety: an event is committed before the provider gets its
200, processing is idempotent (webhooks/processing.py claims each event once), and an id lost here
(the broker down, the process killed before its thread published) leaves its event RECEIVED,
which reconciliation queues again (kyc/operations/reconcile.py). At a normal exit the thread's
pending ids are published first.

Written here rather than taken from a library: Celery has no batching publisher (celery-batches
batches on the consuming side), and this is a list, a condition and a thread.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable

from celery import current_app
from django.conf import settings

from webhooks import tasks

logger = logging.getLogger(__name__)


class BatchPublisher:
    """Collect items from any thread; publish them in batches from one background thread.

    The thread starts with the first item a process adds, so a pre-forking server (gunicorn
    --preload) gets one per worker process; a forked child starts empty.
    """

    def __init__(self, publish: Callable[[list], None], *, linger: float, max_batch: int):
        self._publish = publish
        self._linger = linger
        self._max_batch = max_batch
        self._reset()
        os.register_at_fork(after_in_child=self._reset)
        atexit.register(self.flush)

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._pending: list = []
        self._thread: threading.Thread | None = None

    def add(self, item) -> None:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="batch-publisher", daemon=True)
                self._thread.start()
            self._pending.append(item)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
            time.sleep(self._linger)  # let the others of this burst join the message
            self.flush()

    def flush(self) -> None:
        """Publish everything pending now (also at exit)."""
        with self._cond:
            batch, self._pending = self._pending, []
        for start in range(0, len(batch), self._max_batch):
            chunk = batch[start : start + self._max_batch]
            try:
                self._publish(chunk)
            except Exception as exc:  # the events are stored: reconciliation queues them later
                reason = type(exc).__name__
                logger.error("could not queue %d stored events (reconciliation will): %s", len(chunk), reason)


def _publish_events(event_ids: list[int]) -> None:
    tasks.inbound_events_process.delay(event_ids)


_publisher: BatchPublisher | None = None
_publisher_lock = threading.Lock()


def enqueue_event(event_id: int) -> None:
    """Have the stored event processed: at once where tasks run in-process (no broker), else in
    the next batch (or in a message of its own when the linger is 0)."""
    linger_ms = settings.KYC_WEBHOOK_ENQUEUE_LINGER_MS
    if current_app.conf.task_always_eager or linger_ms <= 0:
        tasks.inbound_event_process.delay(event_id)
        return
    _get_publisher(linger_ms / 1000, settings.KYC_WEBHOOK_ENQUEUE_BATCH).add(event_id)


def _get_publisher(linger: float, max_batch: int) -> BatchPublisher:
    global _publisher
    if _publisher is None:
        with _publisher_lock:
            if _publisher is None:
                _publisher = BatchPublisher(_publish_events, linger=linger, max_batch=max_batch)
    return _publisher
