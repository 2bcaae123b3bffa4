from celery import shared_task

from webhooks import services


@shared_task
def inbound_event_process(event_id: int) -> None:
    services.inbound_event_process(event_id=event_id)
