"""Celery beat's periodic tasks: entry points to the cross-app operations (kyc/operations/).

Apart from kyc/tasks.py, whose tasks the services queue: an operation queues those tasks itself, so
the tasks that start operations sit above them. The tasks keep the names they were first scheduled
under (`kyc.tasks.*`, settings.CELERY_BEAT_SCHEDULE): a beat process and workers of two releases
side by side still agree on them. Found by Celery's autodiscovery (config/celery.py).
"""

from celery import shared_task

from kyc.operations import polling, retention
from kyc.operations import reconcile as reconciliation


@shared_task(name="kyc.tasks.reconcile")
def reconcile() -> None:
    """Every KYC_RECONCILE_EVERY seconds (settings.CELERY_BEAT_SCHEDULE)."""
    reconciliation.reconcile()


@shared_task(name="kyc.tasks.retention_purge")
def retention_purge() -> None:
    """Every KYC_PURGE_EVERY seconds (settings.CELERY_BEAT_SCHEDULE)."""
    retention.retention_purge()


@shared_task(name="kyc.tasks.poll_due")
def poll_due() -> None:
    """Every KYC_POLL_TICK seconds (settings.CELERY_BEAT_SCHEDULE), dropped if not started within
    its period: the schedule is in the database, a missed tick loses nothing."""
    polling.poll_tick()
