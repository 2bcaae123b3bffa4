"""The audit chain under concurrent writers on PostgreSQL: the advisory lock in kyc.audit keeps
one straight chain (no two entries on the same prev_hash) when transactions append at once."""

import os
import threading

import pytest
from django.db import connection, transaction

from kyc.audit import audit_record, verify_chain
from kyc.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        if os.environ.get("CI") == "true":
            pytest.fail("needs PostgreSQL (DATABASE_URL)")
        pytest.skip("needs PostgreSQL: make test-integration IT_DATABASE_URL=postgres://…")


def test_concurrent_appends_do_not_fork_the_chain():
    errors = []
    barrier = threading.Barrier(8)

    def append(i):
        try:
            barrier.wait()
            for j in range(10):
                # A longer transaction around the append, as in the services: the lock is held
                # until commit, so the next appender reads this entry as the last one.
                with transaction.atomic():
                    audit_record(action=f"test.thread{i}.{j}", actor_label="system")
                    AuditEvent.objects.count()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = verify_chain()
    assert report.first_break is None and report.entries == 80
    assert AuditEvent.objects.values("prev_hash").distinct().count() == 80
