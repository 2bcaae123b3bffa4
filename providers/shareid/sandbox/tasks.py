from celery import shared_task

from . import callbacks

# At most the first attempt and its three retries (callbacks.RETRY_DELAYS).
MAX_RETRIES = 3


@shared_task(bind=True, max_retries=MAX_RETRIES, ignore_result=True)
def send_callback(self, callback_id: int) -> None:
    """Send one callback attempt; after a failure, again when the next retry is due (callbacks
    decides and logs). Safe to run twice: only a pending callback is sent, by one worker."""
    _, countdown = callbacks.callback_send(callback_id)
    if countdown is None:
        return
    if self.request.is_eager:
        # No broker (development): the callback stays pending with its next attempt time, and
        # control/callbacks/send-due sends what is due.
        return
    raise self.retry(countdown=countdown)
