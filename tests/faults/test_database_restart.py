"""Database restart under load: webhooks keep coming while the database drops every connection and
refuses new ones for a few seconds. Each delivery is either stored (200) or refused with 503, which
makes the provider deliver it again; none is accepted and then lost. Afterwards the app and the
worker carry on by themselves: no restart, no replay by hand."""

from __future__ import annotations

import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

from kyc.models import VerificationSession
from tests.factories import CustomerFactory
from tests.support.servers import wait_until
from tests.support.veriff import signed_webhook
from tests.webhooks.veriff_histories import history
from webhooks.models import InboundEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SESSIONS = 120
OUTAGE_SECONDS = 4


def admin_dsn() -> str:
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    password = f" password={s['PASSWORD']}" if s.get("PASSWORD") else ""
    host, port = s.get("HOST") or "127.0.0.1", s.get("PORT") or 5432
    return f"host={host} port={port} user={user}{password} dbname=postgres"


def test_webhooks_during_a_database_restart_are_stored_or_refused_never_lost(stack):
    rng = random.Random(7)
    sessions = [
        VerificationSession.objects.create(
            customer=c, provider="veriff", provider_session_id=str(uuid.uuid4())
        )
        for c in CustomerFactory.create_batch(SESSIONS)
    ]
    facts = [f for s in sessions for f in history(s.provider_session_id, rng, attempts=1, ending="approved")]
    database = connection.settings_dict["NAME"]
    answers: dict[bytes, list] = {f.body: [] for f in facts}
    lock = threading.Lock()
    local = threading.local()

    def deliver(fact) -> int | str:
        if not hasattr(local, "http"):
            local.http = requests.Session()
        body, headers = signed_webhook(fact.body)
        try:
            status = local.http.post(
                f"{stack.base_url}/webhooks/veriff/{fact.kind}/", data=body, headers=headers, timeout=30
            ).status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        with lock:
            answers[fact.body].append(status)
        time.sleep(0.05)  # a steady stream, not one burst: the outage falls in the middle of it
        return status

    readiness_during_outage = []
    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(deliver, fact) for fact in facts]
        time.sleep(1.0)
        with stack.database_down(database, admin_dsn()):
            time.sleep(OUTAGE_SECONDS / 2)
            readiness_during_outage.append(requests.get(f"{stack.base_url}/readyz", timeout=10).status_code)
            time.sleep(OUTAGE_SECONDS / 2)
        for future in futures:
            future.result(timeout=120)
    connection.close()  # the test's own connection was cut too

    statuses = [status for replies in answers.values() for status in replies]
    assert set(statuses) <= {200, 503}, f"answers other than 200 and 503: {set(statuses)}"
    assert 503 in statuses, "no delivery met the outage: nothing was tested"
    assert readiness_during_outage == [503]

    # The provider delivers again what was refused; the app, never restarted, now takes it.
    refused = [f for f in facts if answers[f.body][-1] != 200]
    for fact in refused:
        wait_until(
            lambda f=fact: deliver(f) == 200, timeout=30, interval=0.5, message="a redelivery accepted"
        )

    # Nothing accepted was lost: every fact answered 200 is stored, and all are applied once.
    def all_processed() -> bool:
        events = InboundEvent.objects.filter(authenticated=True)
        return (
            events.count() == len(facts) and not events.exclude(state=InboundEvent.State.PROCESSED).exists()
        )

    wait_until(all_processed, timeout=180, interval=1, message="every stored event processed")
    assert set(InboundEvent.objects.values_list("attempts", flat=True)) == {1}
    assert set(
        VerificationSession.objects.filter(pk__in=[s.pk for s in sessions]).values_list("status", flat=True)
    ) == {"approved"}
    assert requests.get(f"{stack.base_url}/readyz", timeout=10).status_code == 200


def test_after_the_database_dropped_every_connection_the_next_deliveries_are_stored_at_once(stack):
    """The webhook view skips Django's per-request health check; a kept connection that died is
    replaced when its first statement fails, and the delivery is stored on the first try (no 503
    and no wait for the provider's retry)."""
    import psycopg

    sessions = [
        VerificationSession.objects.create(
            customer=c, provider="veriff", provider_session_id=str(uuid.uuid4())
        )
        for c in CustomerFactory.create_batch(48)
    ]
    rng = random.Random(3)
    facts = [f for s in sessions for f in history(s.provider_session_id, rng, attempts=1, ending="approved")]
    facts = facts[:96]

    def deliver(fact) -> int:
        body, headers = signed_webhook(fact.body)
        url = f"{stack.base_url}/webhooks/veriff/{fact.kind}/"
        return requests.post(url, data=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:  # every gunicorn thread opens and keeps its connection
        assert set(pool.map(deliver, facts[:48])) == {200}
    database = connection.settings_dict["NAME"]
    connection.close()
    with psycopg.connect(admin_dsn(), autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        ).fetchone()[0]
    assert killed >= 2, "the app's kept connections were not there to cut"
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(deliver, facts[48:]))
    assert statuses == [200] * len(statuses)
    assert InboundEvent.objects.filter(authenticated=True).count() == len(facts)
