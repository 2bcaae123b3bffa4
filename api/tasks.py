from celery import shared_task

from api import services


@shared_task
def idempotency_records_purge() -> int:
    """Forget Idempotency-Keys older than KYC_IDEMPOTENCY_TTL (they could be reused anyway)."""
    return services.idempotency_purge()
