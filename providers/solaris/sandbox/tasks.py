from celery import shared_task

from . import delivery


@shared_task(bind=True, max_retries=delivery.MAX_RETRIES + 1, ignore_result=True)
def deliver_notification(self, delivery_id: int) -> None:
    """Send one notification; on an answer that asks for it, try again after a growing interval
    (delivery.send decides and logs). Safe to run twice: only a pending delivery is sent."""
    countdown = delivery.send(delivery_id)
    if countdown is None:
        return
    if self.request.is_eager:
        # No broker (development): the task runs inside the request that caused the notification,
        # which cannot wait. The delivery stays pending with its next attempt time; the control
        # endpoint control/deliveries/send-due sends what is due.
        return
    raise self.retry(countdown=countdown)
