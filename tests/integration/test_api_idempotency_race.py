"""Two requests with one Idempotency-Key at the same moment: exactly one does the work. Needs a
database with row locks and concurrent writers (PostgreSQL; SQLite serializes whole tables)."""

import os
import threading

import pytest
from django.db import connection

from api import services
from api.models import IdempotencyRecord

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres():
    if connection.vendor != "postgresql":
        if os.environ.get("CI") == "true":
            pytest.fail("tests/integration needs PostgreSQL (DATABASE_URL)")
        pytest.skip("needs PostgreSQL: make test-integration")


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_key_let_exactly_one_request_work():
    barrier = threading.Barrier(4)
    results = []

    def claim():
        barrier.wait()
        try:
            results.append(
                services.idempotency_claim(
                    client="key:1", key="k", fingerprint="f", method="POST", path="/x"
                ).replay
            )
        except services.IdempotencyConflict as conflict:
            results.append(conflict.kind)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, results)) == ["False", "in_progress", "in_progress", "in_progress"]
    assert IdempotencyRecord.objects.count() == 1
