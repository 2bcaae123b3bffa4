from celery import shared_task
from django.db import InterfaceError, OperationalError

from webhooks import services

# Beyond these the event stays RECEIVED and reconciliation queues it again (it never expires).
DB_RETRIES = 10


@shared_task(bind=True, max_retries=DB_RETRIES)
def inbound_event_process(self, event_id: int) -> None:
    """Takes the event's id only: the body (personal data) never travels through the broker."""
    from kyc.tasks import backoff, media_sync_after

    try:
        # A decision's media listing runs here, right after the decision is committed.
        with media_sync_after():
            services.inbound_event_process(event_id=event_id)
    except (OperationalError, InterfaceError) as exc:
        # The database is restarting or unreachable: the processing transaction rolled back and
        # the event waits, unclaimed, for this retry.
        if self.request.is_eager or self.request.retries >= self.max_retries:
            raise
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task(bind=True, max_retries=DB_RETRIES)
def inbound_events_process(self, event_ids: list[int]) -> None:
    """Several events queued together by the receiving process (webhooks/dispatch.py), each
    processed in its own transaction, in the order received, and a decision's media listed right
    after it (as in inbound_event_process)."""
    from kyc.tasks import backoff, media_sync_after

    for index, event_id in enumerate(event_ids):
        try:
            with media_sync_after():
                services.inbound_event_process(event_id=event_id)
        except (OperationalError, InterfaceError) as exc:
            # Those before this one are done (and would only be found done again): retry the rest.
            if self.request.is_eager or self.request.retries >= self.max_retries:
                raise
            countdown = backoff(self.request.retries)
            raise self.retry(args=(event_ids[index:],), exc=exc, countdown=countdown) from exc
