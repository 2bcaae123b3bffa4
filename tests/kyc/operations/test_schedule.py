"""The beat schedule names real tasks, and each periodic task runs its operation."""

import pytest

from config.celery import app
from kyc import beat


def test_every_scheduled_task_exists(settings):
    app.loader.import_default_modules()
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert names == {
        "kyc.tasks.reconcile",
        "kyc.tasks.retention_purge",
        "kyc.tasks.poll_due",  # the poller's tick (kyc/operations/polling.py)
        "notifications.tasks.deliveries_send_due",  # retries of outbound notifications
        "api.tasks.idempotency_records_purge",
    }
    assert names <= set(app.tasks)
    assert all(entry["schedule"] > 0 for entry in settings.CELERY_BEAT_SCHEDULE.values())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("task", "target"),
    [
        (beat.reconcile, "kyc.operations.reconcile.reconcile"),
        (beat.retention_purge, "kyc.operations.retention.retention_purge"),
        (beat.poll_due, "kyc.operations.polling.poll_tick"),
    ],
)
def test_the_periodic_tasks_run_their_operation(monkeypatch, task, target):
    calls = []
    module, name = target.rsplit(".", 1)
    monkeypatch.setattr(f"{module}.{name}", lambda **kwargs: calls.append(kwargs))
    task.apply()
    assert calls == [{}]
