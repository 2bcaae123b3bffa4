from celery import shared_task
from django.db import InterfaceError, OperationalError

from webhooks import services

# Beyond these the event stays RECEIVED and reconciliation queues it again (it never expires).
DB_RETRIES = 10


@shared_task(bind=True, max_retries=DB_RETRIES)
def inbound_event_process(self, event_id: int) -> None:
    """Takes the event's id only: the body (personal data) never travels through the broker."""
    _process_in_order(self, [event_id], retry_args=lambda rest: (rest[0],))


@shared_task(bind=True, max_retries=DB_RETRIES)
def inbound_events_process(self, event_ids: list[int]) -> None:
    """Several events queued together by the receiving process (webhooks/dispatch.py)."""
    _process_in_order(self, event_ids, retry_args=lambda rest: (rest,))


def _process_in_order(task, event_ids: list[int], *, retry_args) -> None:
    """Each event in its own transaction, in the order given, and a decision's media listed
    right after it is committed (kyc.tasks.media_sync_after)."""
    from kyc.tasks import backoff, media_sync_after

    for index, event_id in enumerate(event_ids):
        try:
            with media_sync_after():
                services.inbound_event_process(event_id=event_id)
        except (OperationalError, InterfaceError) as exc:
            # The database is restarting or unreachable: this event's transaction rolled back and
            # it waits, unclaimed, for the retry; those before it are done (and would only be
            # found done again), so the retry takes the rest.
            if task.request.is_eager or task.request.retries >= task.max_retries:
                raise
            countdown = backoff(task.request.retries)
            raise task.retry(args=retry_args(event_ids[index:]), exc=exc, countdown=countdown) from exc
