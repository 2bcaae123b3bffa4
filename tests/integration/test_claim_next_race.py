"""Claim next case under concurrent staff on PostgreSQL: the row lock with SKIP LOCKED in
kyc.casework.claims gives each caller a different case, and never waits for, nor takes, a case
another transaction holds."""

import datetime as dt
import os
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from kyc.casework.claims import case_claim_next
from kyc.models import AuditEvent, VerificationSession
from kyc.services import customers
from tests.factories import SessionFactory
from tests.kyc.conftest import decide, make_staff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        if os.environ.get("CI") == "true":
            pytest.fail("needs PostgreSQL (DATABASE_URL)")
        pytest.skip("needs PostgreSQL: make test-integration IT_DATABASE_URL=postgres://…")


def queued_cases(n):
    cases = []
    for i in range(n):
        customer = customers.customer_create(
            external_ref=f"RACE-{i:03d}", first_name="Race", last_name=f"N{i}"
        )
        session = decide(SessionFactory(customer=customer), "declined")
        # Oldest first: case 0 entered the queue first.
        VerificationSession.objects.filter(pk=session.pk).update(
            queued_at=timezone.now() - dt.timedelta(hours=100 - i)
        )
        cases.append(session)
    return cases


def test_a_case_locked_by_another_claim_is_skipped_not_waited_for():
    cases = queued_cases(2)
    first, second = make_staff("alice", "Analyst"), make_staff("arthur", "Analyst")
    locked, release = threading.Event(), threading.Event()

    def hold_the_oldest():
        try:
            with transaction.atomic():
                VerificationSession.objects.select_for_update().get(pk=cases[0].pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_oldest)
    holder.start()
    try:
        assert locked.wait(10)
        started = timezone.now()
        claimed = case_claim_next(actor=second)
        assert claimed.pk == cases[1].pk  # the oldest is being claimed: the next one, at once
        assert (timezone.now() - started).total_seconds() < 5
    finally:
        release.set()
        holder.join()
    assert case_claim_next(actor=first).pk == cases[0].pk


def test_staff_claiming_at_once_each_get_a_different_case():
    cases = queued_cases(6)
    staff = [make_staff(f"analyst{i}", "Analyst") for i in range(6)]
    barrier = threading.Barrier(len(staff))
    claimed, errors = {}, []

    def claim(user):
        try:
            barrier.wait()
            session = case_claim_next(actor=user)
            claimed[user.username] = session.pk if session else None
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(user,)) for user in staff]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(claimed.values()) == sorted(c.pk for c in cases)
    for user in staff:
        assert VerificationSession.objects.get(pk=claimed[user.username]).assignee_id == user.pk
    assert AuditEvent.objects.filter(action="case.assigned").count() == 6
