from celery import shared_task

from . import delivery


@shared_task(bind=True, max_retries=delivery.MAX_RETRIES, ignore_result=True)
def deliver_webhook(self, delivery_id: int) -> None:
    """Send one webhook; on a non-2xx answer or a network error, try again hourly for 7 days
    (both scaled by SIM_TIME_SCALE), as Veriff does (README, "Webhooks"). Safe to run twice: a
    delivered webhook is never sent again (only an explicit redelivery does that)."""
    if delivery.send_in_order(delivery_id):
        return
    if self.request.is_eager:
        # No broker (development): the task runs inside the request that caused the webhook,
        # which cannot wait an hour. The failure stays in the delivery log; the control endpoint
        # .../control/webhooks/<id>/redeliver sends it again.
        return
    if self.request.retries >= delivery.MAX_RETRIES:
        delivery.give_up(delivery_id)
        return
    raise self.retry(countdown=delivery.retry_countdown())
