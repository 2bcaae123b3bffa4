"""Sending is a task per delivery; retries are Celery's (`retry` with the backoff the service
computed), and the periodic sweep re-enqueues whatever is due (a lost task, or no broker)."""

from celery import shared_task

from notifications import services


@shared_task(bind=True, max_retries=None, acks_late=True, name=services.DELIVERY_TASK)
def delivery_send(self, delivery_id: int) -> None:
    outcome = services.delivery_attempt(delivery_id=delivery_id)
    # In-process (no broker) a retry would loop inside the request: the sweep retries instead.
    if outcome.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=outcome.retry_in)


@shared_task
def deliveries_send_due() -> int:
    due = services.deliveries_due()
    for delivery_id in due:
        delivery_send.delay(delivery_id)
    return len(due)
