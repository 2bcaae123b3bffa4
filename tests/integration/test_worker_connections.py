"""The worker keeps its PostgreSQL connections from one task to the next.

Celery's Django fixup closes every connection before and after each task unless told otherwise;
each task then paid for a new PostgreSQL backend (fork, authentication, set-up), more CPU than the
task itself (benchmarks/decision_latency.py). config/settings.py and config/celery.py keep them
for CONN_MAX_AGE, closing only obsolete or broken ones, as Django does between requests.
"""

import json
import time

import pytest
import requests
from django.db import connection

from kyc.models import VerificationSession
from kyc.services import customers
from tests.support.servers import wait_until
from tests.support.veriff import HTTP_TIMEOUT, signed_webhook
from webhooks.models import InboundEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

DELIVERIES = 20


def sessions_established() -> int:
    """Connections made to the test database so far, by anyone (PostgreSQL's own count)."""
    time.sleep(1.5)  # backends report their counts to the statistics at most once a second
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def deliver_events(url: str, provider_session_id: str, first: int) -> None:
    """DELIVERIES distinct event webhooks, one at a time: one task each."""
    with requests.Session() as http:
        for n in range(first, first + DELIVERIES):
            body, headers = signed_webhook(
                json.dumps(
                    {
                        "id": provider_session_id,
                        "attemptId": f"it-conn-{n}",
                        "code": 7001,
                        "action": "started",
                    }
                ).encode()
            )
            assert http.post(url, data=body, headers=headers, timeout=HTTP_TIMEOUT).status_code == 200
            time.sleep(0.1)  # past the receiving process's batching window: a task per delivery


def test_the_worker_keeps_its_database_connections_between_tasks(settings):
    customer = customers.customer_create(external_ref="IT-CONN", first_name="Mari", last_name="Maasikas")
    # Known to the provider already (no task to create it there): only the deliveries make tasks.
    VerificationSession.objects.create(
        customer=customer, provider="veriff", provider_session_id="it-conn-0000"
    )
    url = f"{settings.KYC_PUBLIC_URL}/webhooks/veriff/events/"

    def processed(count: int):
        return lambda: (
            InboundEvent.objects.filter(provider_session_id="it-conn-0000", state="processed").count()
            == count
        )

    # Warm: every server process and worker child has opened its connection.
    deliver_events(url, "it-conn-0000", 0)
    wait_until(processed(DELIVERIES), timeout=60, message="the first deliveries processed")
    before = sessions_established()
    deliver_events(url, "it-conn-0000", DELIVERIES)
    wait_until(processed(2 * DELIVERIES), timeout=60, message="the second deliveries processed")
    made = sessions_established() - before
    # One for each statistics read of this test; a new one per task would be DELIVERIES more.
    assert made <= 5, f"{made} new database connections for {DELIVERIES} tasks"
