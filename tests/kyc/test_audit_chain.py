"""The audit trail is a hash chain; verify_audit finds an entry changed or removed in the database."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from kyc.audit import GENESIS, audit_batch, audit_record, compute_hash, verify_chain
from kyc.models import AuditEvent

pytestmark = pytest.mark.django_db


def verify(*args) -> str:
    out = io.StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def record_some(n=5, customer=None):
    return [audit_record(action=f"test.step{i}", actor_label="system", customer=customer) for i in range(n)]


def test_each_entry_links_to_the_one_before(customer):
    events = record_some(3)
    first = AuditEvent.objects.order_by("id").first()
    assert first.prev_hash == GENESIS
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert all(compute_hash(AuditEvent.objects.get(pk=e.pk)) == e.hash for e in events)


def test_verify_audit_passes_on_an_intact_chain(customer):
    record_some()
    out = verify()
    assert "Audit chain intact" in out
    count = AuditEvent.objects.count()
    assert f"Head: {count}:{AuditEvent.objects.order_by('-id').first().hash}" in out


def test_verify_audit_names_an_entry_changed_directly_in_the_database(customer):
    events = record_some()
    target = events[2]
    with connection.cursor() as cursor:  # behind the model's back, as an attacker with SQL would
        cursor.execute("UPDATE kyc_auditevent SET action = %s WHERE id = %s", ["test.innocent", target.pk])
    with pytest.raises(CommandError, match=rf"entry #{target.pk} .*content does not match its hash"):
        verify()


def test_verify_audit_names_the_entry_after_a_deleted_one(customer):
    events = record_some()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM kyc_auditevent WHERE id = %s", [events[1].pk])
    with pytest.raises(CommandError, match=rf"entry #{events[2].pk} .*prev_hash"):
        verify()


def test_a_rehashed_forgery_is_caught_by_the_next_entry(customer):
    events = record_some()
    forged = AuditEvent.objects.get(pk=events[1].pk)
    forged.action = "test.forged"
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE kyc_auditevent SET action = %s, hash = %s WHERE id = %s",
            [forged.action, compute_hash(forged), forged.pk],
        )
    assert verify_chain().first_break.event_id == events[2].pk


def test_entries_cut_from_the_end_are_caught_with_the_recorded_head(customer):
    record_some()
    head = verify().strip().splitlines()[-1].removeprefix("Head: ")
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM kyc_auditevent WHERE id = %s", [AuditEvent.objects.order_by("-id").first().pk]
        )
    verify()  # the rest still chains...
    with pytest.raises(CommandError, match="no longer in the chain"):
        verify("--expect-head", head)  # ...but the recorded head is gone


def test_the_chain_survives_personal_values_never_being_in_it(customer):
    # Entries carry ids and field names, so erasing the customer's personal data elsewhere
    # cannot break the chain.
    customer.first_name = ""
    customer.save()
    assert verify_chain().first_break is None
    assert not any("Sarah" in str(e.after) + str(e.before) for e in AuditEvent.objects.all())


def test_bulk_generated_entries_are_chained_too(customer):
    record_some(2, customer)
    call_command(
        "generate_scale_data", customers=20, sessions=30, media=40, prefix="CHAIN-", stderr=io.StringIO()
    )
    report = verify_chain()
    assert report.first_break is None and report.entries > 20
    # The generated cases that need a person are in the (stored) review queue.
    from kyc.models import VerificationSession
    from kyc.reviews.queue_state import review_needed_q

    queued = set(VerificationSession.objects.exclude(queued_at=None).values_list("pk", flat=True))
    assert queued and queued == set(
        VerificationSession.objects.filter(review_needed_q()).values_list("pk", flat=True)
    )


# --- entries held by audit_batch and chained together at its end ------------------------------
def test_a_batch_holds_its_entries_and_chains_them_in_one_insert_at_its_end(customer):
    head = record_some(1)[0]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with audit_batch():
            events = record_some(3, customer)
            assert not AuditEvent.objects.filter(pk__gt=head.pk).exists()  # held, not written yet
        inserts = [q["sql"] for q in queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    stored = list(AuditEvent.objects.filter(pk__gt=head.pk).order_by("id"))
    assert [e.action for e in stored] == ["test.step0", "test.step1", "test.step2"]
    assert [e.prev_hash for e in stored] == [head.hash, events[0].hash, events[1].hash]
    assert verify_chain().first_break is None


def test_a_batch_ended_by_an_error_writes_none_of_its_entries(customer):
    head = record_some(1)[0]
    with pytest.raises(RuntimeError), transaction.atomic(), audit_batch():
        record_some(2, customer)
        raise RuntimeError("the change failed")
    assert AuditEvent.objects.order_by("-id").first() == head
    after = record_some(1)[0]  # the trail goes on from where it was
    assert after.prev_hash == head.hash and verify_chain().first_break is None


def test_a_batch_inside_a_batch_is_written_by_the_outer_one(customer):
    head = record_some(1)[0]
    with audit_batch():
        with audit_batch():
            record_some(2, customer)
        assert not AuditEvent.objects.filter(pk__gt=head.pk).exists()
    assert AuditEvent.objects.filter(pk__gt=head.pk).count() == 2 and verify_chain().first_break is None
