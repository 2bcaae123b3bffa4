from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.db import InterfaceError, OperationalError

from webhooks import processing

# Beyond these the event stays RECEIVED and reconciliation queues it again (it never expires).
DB_RETRIES = 10


def _backoff(retries: int) -> int:
    """Seconds before retry number `retries + 1`: exponential, capped at ten minutes, fully jittered
    (the policy of kyc/tasks.py's retries)."""
    return get_exponential_backoff_interval(2, retries, 600, full_jitter=True)


@shared_task(bind=True, max_retries=DB_RETRIES)
def inbound_event_process(self, event_id: int) -> None:
    """Takes the event's id only: the body (personal data) never travels through the broker."""
    _process_in_order(self, [event_id], retry_args=lambda rest: (rest[0],))


@shared_task(bind=True, max_retries=DB_RETRIES)
def inbound_events_process(self, event_ids: list[int]) -> None:
    """Several events queued together by the receiving process (webhooks/dispatch.py)."""
    _process_in_order(self, event_ids, retry_args=lambda rest: (rest,))


def _process_in_order(task, event_ids: list[int], *, retry_args) -> None:
    """Each event in its own transaction, in the order given, inside the processor's `processing()`
    (what it does once an event's work is committed: kyc lists a decision's media right after it)."""
    processor = processing.event_processor()
    for index, event_id in enumerate(event_ids):
        try:
            with processor.processing():
                processing.inbound_event_process(event_id=event_id)
        except (OperationalError, InterfaceError) as exc:
            # The database is restarting or unreachable: this event's transaction rolled back and
            # it waits, unclaimed, for the retry; those before it are done (and would only be
            # found done again), so the retry takes the rest.
            if task.request.is_eager or task.request.retries >= task.max_retries:
                raise
            countdown = _backoff(task.request.retries)
            raise task.retry(args=retry_args(event_ids[index:]), exc=exc, countdown=countdown) from exc
