import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("kycdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Periodic tasks live apart from the tasks services queue (kyc/beat.py).
app.autodiscover_tasks(related_name="beat")


@task_prerun.connect
@task_postrun.connect
def close_old_connections(task=None, **kwargs) -> None:
    """Around each task, what Django does around each request: a connection older than
    CONN_MAX_AGE, or one that failed, is closed (and opened again when next needed, health-checked
    as CONN_HEALTH_CHECKS says). Celery's own fixup would close every connection every time; it is
    told not to (CELERY_DB_REUSE_MAX, config/settings.py). Not for a task run in-process (eager),
    which may be inside the caller's transaction."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections as close

    close()
