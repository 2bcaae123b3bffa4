"""GDPR erasure of one customer: no file and no personal field left, the minimal legal record and
the audit trail kept and extended, through the service, the command and the admin action."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command

from kyc.models import AuditEvent, Customer, Media, ProviderDecision
from kyc.operations.erasure import customer_erase
from tests.kyc.operations.conftest import (
    assert_audit_trail_intact,
    audit_snapshot,
    evidence_files,
    personal_data_left,
)
from webhooks.models import InboundEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_erasure_leaves_no_file_and_no_personal_field_but_keeps_the_legal_record(verified_customer, settings):
    customer, secrets = verified_customer()
    other, other_secrets = verified_customer(
        ref="KEEP-1", first="Bartholomew", last="Okonkwo", dob=dt.date(1991, 11, 2)
    )
    assert not personal_data_left(set()) and personal_data_left(secrets)  # the hunt finds them first
    audit_before = audit_snapshot()
    session = customer.sessions.get()
    digests = sorted(session.media.values_list("sha256", flat=True))

    report = customer_erase(customer_id=customer.pk, actor_label="test", request_ref="DSR-42")

    assert personal_data_left(secrets) == []
    assert all(str(other.sessions.get().reference) in path for path in evidence_files(settings))
    customer.refresh_from_db()
    assert customer.erased_at and customer.external_ref == "ERASE-1" and str(customer) == "(erased) [ERASE-1]"
    # The minimal record: statuses, codes, times, digests.
    decision = ProviderDecision.objects.get(session=session)
    assert (decision.status, decision.code, decision.redacted_at is not None) == ("approved", 9001, True)
    assert sorted(session.media.values_list("sha256", flat=True)) == digests
    assert set(session.media.values_list("state", flat=True)) == {Media.State.PURGED}
    assert report.files_deleted == len(digests)
    # The other customer is untouched.
    assert (
        set(personal_data_left(other_secrets)) and other.sessions.get().media.filter(state="stored").exists()
    )
    # Audited, and the trail is intact.
    assert_audit_trail_intact(audit_before)
    erased = AuditEvent.objects.get(action="customer.erased")
    assert erased.customer_id == customer.pk and erased.after["request_ref"] == "DSR-42"
    assert erased.after["files_deleted"] == len(digests)


def test_erasure_closes_open_sessions_and_a_late_webhook_brings_no_personal_data_back(
    verified_customer, sandbox_app, client
):
    import requests

    customer, secrets = verified_customer(status="resubmission_requested")
    session = customer.sessions.get()
    customer_erase(customer_id=customer.pk, actor_label="test")
    session.refresh_from_db()
    assert session.status == "abandoned"
    # The provider decides the next attempt anyway, and its webhook reaches us.
    requests.post(
        f"{sandbox_app}/sandbox/veriff/control/sessions/{session.provider_session_id}/decision",
        json={"status": "approved"},
        timeout=30,
    )
    assert InboundEvent.objects.filter(kind="decision").count() == 2
    assert personal_data_left(secrets) == []


def test_erasing_twice_records_nothing_new(verified_customer):
    customer, _ = verified_customer()
    customer_erase(customer_id=customer.pk, actor_label="test")
    second = customer_erase(customer_id=customer.pk, actor_label="test")
    assert second.already_erased and second.files_deleted == 0
    assert AuditEvent.objects.filter(action="customer.erased").count() == 1


def test_the_command_erases_with_progress_and_refuses_unknown_references(verified_customer, capsys):
    customer, secrets = verified_customer()
    with pytest.raises(CommandError, match="NOPE"):
        call_command("erase_customer", "ERASE-1", "NOPE", "--request-ref", "DSR-1")
    assert Customer.objects.get(pk=customer.pk).erased_at is None  # all or nothing
    call_command("erase_customer", "ERASE-1", "--request-ref", "DSR-1", "--operator", "ops")
    captured = capsys.readouterr()
    assert "ERASE-1: erased" in captured.out and "deleting evidence files" in captured.err
    assert personal_data_left(secrets) == []
    assert AuditEvent.objects.get(action="customer.erased").actor_label == "command:ops"


def staff(username, *perms):
    user = User.objects.create_user(username, password="pw-123-long-enough", is_staff=True)
    for codename in ("view_customer", "change_customer", *perms):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def test_the_admin_action_asks_for_the_request_reference_then_erases(verified_customer, client):
    customer, secrets = verified_customer()
    client.force_login(staff("dpo", "erase_customer"))
    url = "/admin/kyc/customer/"
    data = {"action": "erase_personal_data", "_selected_action": [customer.pk]}
    page = client.post(url, data)
    assert page.status_code == 200 and b"Erasure request reference" in page.content
    assert Customer.objects.get(pk=customer.pk).erased_at is None
    client.post(url, {**data, "confirm": "yes", "request_ref": ""})
    assert Customer.objects.get(pk=customer.pk).erased_at is None  # the reference is required
    client.post(url, {**data, "confirm": "yes", "request_ref": "DSR-7"})
    assert Customer.objects.get(pk=customer.pk).erased_at is not None
    assert personal_data_left(secrets) == []
    assert AuditEvent.objects.get(action="customer.erased").actor.username == "dpo"


def test_staff_without_the_erase_permission_cannot_erase_even_by_posting_directly(verified_customer, client):
    customer, _ = verified_customer()
    client.force_login(staff("analyst"))
    data = {"action": "erase_personal_data", "_selected_action": [customer.pk], "confirm": "yes"}
    client.post("/admin/kyc/customer/", {**data, "request_ref": "DSR-8"})
    assert Customer.objects.get(pk=customer.pk).erased_at is None
    assert not AuditEvent.objects.filter(action="customer.erased").exists()


def test_erasure_blanks_the_notes_of_staff_decisions_but_keeps_the_decisions(verified_customer):
    from kyc.models import Review, ReviewReason
    from kyc.services.reviews import review_propose

    customer, _ = verified_customer()
    session = customer.sessions.get()
    analyst = User.objects.create_user("note-writer", password="pw-notes-123", is_staff=True)
    analyst.user_permissions.add(Permission.objects.get(codename="review_case"))
    # Transactional tests flush the reasons the migration seeds: make one.
    reason, _ = ReviewReason.objects.get_or_create(
        code="checked-by-phone", defaults={"label": "Checked by phone"}
    )
    review = review_propose(
        session_id=session.pk,
        outcome="approve",
        reason=reason,
        note="Called Ms Example on +372 5555 1234, she confirmed.",
        actor=analyst,
    )

    report = customer_erase(customer_id=customer.pk, actor_label="test", request_ref="DSR-7")

    review = Review.objects.get(pk=review.pk)
    assert review.note == "[erased]" and "5555" not in review.rejection_note
    assert (review.outcome, review.reason_id, review.proposed_by_id) == ("approve", reason.pk, analyst.pk)
    assert report.review_notes_redacted == 1
    assert AuditEvent.objects.get(action="customer.erased").after["review_notes_redacted"] == 1
    assert customer_erase(customer_id=customer.pk, actor_label="test").review_notes_redacted == 0
