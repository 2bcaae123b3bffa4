"""The retention purge: files after KYC_RETENTION_MEDIA_DAYS, the decision record's personal data
after KYC_RETENTION_RECORD_DAYS, nothing before, the audit trail intact."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from kyc.models import AuditEvent, Customer, Media, ProviderDecision, VerificationSession
from kyc.operations.retention import retention_purge
from tests.kyc.operations.conftest import (
    assert_audit_trail_intact,
    audit_snapshot,
    evidence_files,
    personal_data_left,
)
from webhooks.models import InboundEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def periods(settings):
    settings.KYC_RETENTION_MEDIA_DAYS = 30
    settings.KYC_RETENTION_RECORD_DAYS = 1825
    settings.KYC_RETENTION_REJECTED_WEBHOOK_DAYS = 10


def decided_days_ago(customer, days: int) -> VerificationSession:
    session = customer.sessions.get()
    when = timezone.now() - dt.timedelta(days=days)
    VerificationSession.objects.filter(pk=session.pk).update(decided_at=when, created_at=when)
    return session


def test_nothing_is_purged_before_its_time(verified_customer, settings):
    customer, secrets = verified_customer()
    decided_days_ago(customer, 29)
    files = evidence_files(settings)
    report = retention_purge()
    assert (report.files_deleted, report.decisions_redacted) == (0, 0)
    assert evidence_files(settings) == files
    assert set(personal_data_left(secrets))


def test_files_go_after_the_media_period_and_the_decision_data_stays(verified_customer, settings):
    customer, _ = verified_customer()
    session = decided_days_ago(customer, 31)
    audit_before = audit_snapshot()
    report = retention_purge()
    assert report.files_deleted == session.media.count() and evidence_files(settings) == []
    assert set(session.media.values_list("state", flat=True)) == {Media.State.PURGED}
    assert all(m.sha256 and m.size for m in session.media.all())  # the digests stay as proof
    decision = ProviderDecision.objects.get(session=session)
    assert decision.person and decision.redacted_at is None  # AML period not over
    assert_audit_trail_intact(audit_before)


def test_after_the_aml_period_no_file_and_no_personal_field_is_left(verified_customer, settings):
    customer, secrets = verified_customer()
    session = decided_days_ago(customer, 1826)
    Customer.objects.filter(pk=customer.pk).update(
        created_at=timezone.now() - dt.timedelta(days=1900),
        updated_at=timezone.now() - dt.timedelta(days=1826),
    )
    audit_before = audit_snapshot()

    report = retention_purge()

    assert personal_data_left(secrets) == [] and evidence_files(settings) == []
    assert report.customers_erased == 1
    decision = ProviderDecision.objects.get(session=session)
    assert (decision.status, decision.code) == ("approved", 9001) and decision.redacted_at
    assert InboundEvent.objects.filter(redacted_at__isnull=False).count() == InboundEvent.objects.count()
    assert_audit_trail_intact(audit_before)
    assert AuditEvent.objects.get(action="customer.erased").actor_label == "system:retention"


def test_a_customer_with_a_recent_session_keeps_the_profile(verified_customer):
    customer, _ = verified_customer()
    decided_days_ago(customer, 1826)
    Customer.objects.filter(pk=customer.pk).update(updated_at=timezone.now() - dt.timedelta(days=1826))
    VerificationSession.objects.create(customer=customer, provider="veriff")
    retention_purge()
    customer.refresh_from_db()
    assert customer.erased_at is None and customer.first_name


def test_a_case_waiting_for_review_keeps_its_evidence(verified_customer, settings):
    customer, _ = verified_customer(status="review")
    decided_days_ago(customer, 2000)
    assert retention_purge().files_deleted == 0
    assert evidence_files(settings)


def test_rejected_webhooks_are_blanked_after_their_period(client):
    client.post(
        "/webhooks/veriff/decision/", data=b'{"forged": "Wilhelmina"}', content_type="application/json"
    )
    event = InboundEvent.objects.get()
    assert event.state == InboundEvent.State.REJECTED
    InboundEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - dt.timedelta(days=11))
    assert retention_purge().webhooks_redacted == 1
    event.refresh_from_db()
    assert bytes(event.body) == b"" and event.redacted_at and event.auth_error


def test_the_command_dry_run_changes_nothing_and_the_run_shows_progress(verified_customer, settings, capsys):
    customer, _ = verified_customer()
    decided_days_ago(customer, 31)
    call_command("purge", "--dry-run")
    assert "due: 4 evidence file(s)" in capsys.readouterr().out
    assert evidence_files(settings)
    call_command("purge")
    captured = capsys.readouterr()
    assert "files deleted 4" in captured.out and "purging" in captured.err
    assert evidence_files(settings) == []


def staff_decision(customer, outcome: str, *, days_ago: int | None = None, username="reviewer"):
    """A staff member's final decision on the customer's session; effective `days_ago` days ago."""
    from django.contrib.auth.models import Group, User

    from kyc.models import Review, ReviewReason
    from kyc.services.reviews import review_propose
    from tests.kyc.conftest import ensure_roles_and_reasons

    ensure_roles_and_reasons()
    user = User.objects.create_user(username, password="pw-review-1234", is_staff=True)
    user.groups.add(*Group.objects.all())
    reason = ReviewReason.objects.filter(outcome__in=[outcome, ""]).first()
    review = review_propose(
        session_id=customer.sessions.get().pk, outcome=outcome, reason=reason, note="checked", actor=user
    )
    if days_ago is not None:
        Review.objects.filter(pk=review.pk).update(effective_at=timezone.now() - dt.timedelta(days=days_ago))
    return Review.objects.get(pk=review.pk)


def test_the_media_clock_starts_at_the_staff_decision_not_the_provider_result(verified_customer, settings):
    # One person's approval takes effect (a provider review's needs a second person by default).
    settings.KYC_FOUR_EYES_APPROVALS = []
    customer, _ = verified_customer(status="review")
    decided_days_ago(customer, 2000)  # the provider left it to staff long ago
    review = staff_decision(customer, "approve", days_ago=29)
    assert review.state == "effective"
    assert retention_purge().files_deleted == 0 and evidence_files(settings)

    from kyc.models import Review

    Review.objects.filter(pk=review.pk).update(effective_at=timezone.now() - dt.timedelta(days=31))
    report = retention_purge()
    assert report.files_deleted == customer.sessions.get().media.count() and evidence_files(settings) == []


def test_a_recent_staff_decision_on_an_old_provider_result_keeps_the_files(verified_customer, settings):
    customer, _ = verified_customer(status="approved")
    decided_days_ago(customer, 100)
    staff_decision(customer, "approve", days_ago=10)  # agrees: effective at once
    assert retention_purge().files_deleted == 0 and evidence_files(settings)


def test_an_override_awaiting_confirmation_keeps_the_evidence(verified_customer, settings):
    customer, _ = verified_customer(status="approved")
    decided_days_ago(customer, 2000)
    review = staff_decision(customer, "decline")
    assert review.state == "awaiting_confirmation"
    Customer.objects.filter(pk=customer.pk).update(
        created_at=timezone.now() - dt.timedelta(days=2100),
        updated_at=timezone.now() - dt.timedelta(days=2000),
    )
    report = retention_purge()
    assert (report.files_deleted, report.customers_erased) == (0, 0) and evidence_files(settings)
    assert ProviderDecision.objects.get(session=customer.sessions.get()).redacted_at is None


def test_the_purge_forgets_idempotency_records_past_their_lifetime(settings):
    from api.models import IdempotencyRecord

    settings.KYC_IDEMPOTENCY_TTL = 3600
    old, _recent = (
        IdempotencyRecord.objects.create(
            client="key:1",
            key=key,
            fingerprint="f" * 64,
            method="POST",
            path="/api/v1/customers/",
            state="completed",
            response_status=201,
            response_body={"id": 1, "first_name": "Wilhelmina"},
        )
        for key in ("old", "recent")
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(hours=2))
    report = retention_purge()
    assert report.idempotency_records_deleted == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]
