"""The retention purge (Celery beat, `manage.py purge`): evidence is kept as long as the law and
the settings say, then deleted or blanked, keeping the minimal legal record (README, "Operations").

- Evidence files: KYC_RETENTION_MEDIA_DAYS after the session's final decision: the effective staff
  decision (Review) when there is one, else the provider's conclusive decision.
- The decision record's personal data (verified person and document, raw payloads, stored webhook
  bodies): KYC_RETENTION_RECORD_DAYS (the AML period) after the final decision, or after the
  session was created for one that never got one. Files still there go too.
- A customer with nothing newer than the AML period: their profile is blanked as by an erasure.
- Webhooks that were not authentic or not readable: KYC_RETENTION_REJECTED_WEBHOOK_DAYS.
- API Idempotency-Key records (they hold response bodies with names and emails):
  KYC_IDEMPOTENCY_TTL, also purged here so they never outlive it even without the hourly task.

A session in `review` without an effective staff decision, or with an override still awaiting a
supervisor's confirmation, waits for its final decision and is kept whole meanwhile.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db.models import Case, DateTimeField, Exists, F, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

from api.services import idempotency_purge
from kyc import status as st
from kyc.models import Customer, Media, ProviderDecision, Review, VerificationSession
from kyc.operations.erasure import customer_erase
from kyc.services.redaction import (
    decisions_redact,
    inbound_events_redact,
    media_purge,
    sessions_inbound_events,
)
from webhooks.models import InboundEvent

logger = logging.getLogger(__name__)

# Final for retention: nothing more will be decided on the session (review waits for staff).
FINAL = (st.APPROVED, st.DECLINED, st.EXPIRED, st.ABANDONED)


@dataclass
class PurgePlan:
    media_ids: list[int]
    record_session_ids: list[int]
    customer_ids: list[int]
    rejected_webhooks: int

    @property
    def total(self) -> int:
        return len(self.media_ids) + len(self.record_session_ids) + len(self.customer_ids)


@dataclass
class PurgeReport:
    files_deleted: int = 0
    decisions_redacted: int = 0
    webhooks_redacted: int = 0
    customers_erased: int = 0
    idempotency_records_deleted: int = 0


def sessions_with_final_time():
    """Sessions annotated with `final_at`: when their final decision was taken (the effective staff
    decision's time, else the provider's conclusive decision's), or NULL while none is final."""
    staff_final = (
        Review.objects.filter(session=OuterRef("pk"), state=Review.State.EFFECTIVE)
        .order_by("-effective_at")
        .values("effective_at")[:1]
    )
    awaiting = Exists(Review.objects.filter(session=OuterRef("pk"), state=Review.State.AWAITING_CONFIRMATION))
    return VerificationSession.objects.annotate(
        staff_final_at=Subquery(staff_final, output_field=DateTimeField())
    ).annotate(
        final_at=Case(
            # An override waiting for the supervisor may still change the outcome: not final.
            When(awaiting, then=Value(None, output_field=DateTimeField())),
            When(staff_final_at__isnull=False, then=F("staff_final_at")),
            When(status__in=FINAL, then=F("decided_at")),
            default=Value(None, output_field=DateTimeField()),
            output_field=DateTimeField(),
        )
    )


def _waiting_for_staff():
    """Sessions whose evidence staff still need: in review without a final staff decision."""
    return sessions_with_final_time().filter(
        Q(final_at=None)
        & (
            Q(status=st.REVIEW)
            | Exists(Review.objects.filter(session=OuterRef("pk"), state=Review.State.AWAITING_CONFIRMATION))
        )
    )


def _days_ago(now: dt.datetime, days: int) -> dt.datetime:
    return now - dt.timedelta(days=days)


def purge_plan(*, now: dt.datetime | None = None) -> PurgePlan:
    now = now or timezone.now()
    media_cutoff = _days_ago(now, settings.KYC_RETENTION_MEDIA_DAYS)
    record_cutoff = _days_ago(now, settings.KYC_RETENTION_RECORD_DAYS)
    final = sessions_with_final_time()
    media_ids = Media.objects.filter(
        purged_at=None, session__in=final.filter(final_at__lt=media_cutoff).values("pk")
    ).values_list("pk", flat=True)
    past_record = final.filter(
        Q(final_at__lt=record_cutoff)
        | Q(decided_at=None, created_at__lt=record_cutoff) & ~Q(status=st.REVIEW)
    )
    unredacted = Exists(ProviderDecision.objects.filter(session=OuterRef("pk"), redacted_at=None))
    unpurged = Exists(Media.objects.filter(session=OuterRef("pk"), purged_at=None))
    sessions = past_record.filter(unredacted | unpurged).values_list("pk", flat=True)
    recent_session = VerificationSession.objects.filter(
        customer=OuterRef("pk"), created_at__gte=record_cutoff
    )
    customers = Customer.objects.filter(
        erased_at=None, created_at__lt=record_cutoff, updated_at__lt=record_cutoff
    ).exclude(Exists(recent_session) | Exists(_waiting_for_staff().filter(customer=OuterRef("pk"))))
    rejected = _rejected_webhooks(now).count()
    return PurgePlan(
        media_ids=list(media_ids),
        record_session_ids=list(sessions),
        customer_ids=list(customers.values_list("pk", flat=True)),
        rejected_webhooks=rejected,
    )


def _rejected_webhooks(now: dt.datetime):
    cutoff = _days_ago(now, settings.KYC_RETENTION_REJECTED_WEBHOOK_DAYS)
    return InboundEvent.objects.filter(
        state__in=[InboundEvent.State.REJECTED, InboundEvent.State.MALFORMED],
        received_at__lt=cutoff,
        redacted_at=None,
    )


def retention_purge(
    *, now: dt.datetime | None = None, progress: Callable[[int], None] | None = None
) -> PurgeReport:
    """Apply the retention periods. Safe to run again, or beside itself: each step skips what is
    already done."""
    now = now or timezone.now()
    plan = purge_plan(now=now)
    report = PurgeReport()
    for media_id in plan.media_ids:
        report.files_deleted += media_purge(media_id=media_id)
        if progress:
            progress(1)
    for session_id in plan.record_session_ids:
        for media_id in Media.objects.filter(session_id=session_id, purged_at=None).values_list(
            "pk", flat=True
        ):
            report.files_deleted += media_purge(media_id=media_id)
        report.decisions_redacted += decisions_redact(ProviderDecision.objects.filter(session_id=session_id))
        report.webhooks_redacted += inbound_events_redact(sessions_inbound_events([session_id]))
        if progress:
            progress(1)
    for customer_id in plan.customer_ids:
        customer_erase(
            customer_id=customer_id, actor_label="system:retention", request_ref="retention period"
        )
        report.customers_erased += 1
        if progress:
            progress(1)
    report.webhooks_redacted += inbound_events_redact(_rejected_webhooks(now))
    report.idempotency_records_deleted = idempotency_purge()
    logger.info("retention purge %s", " ".join(f"{k}={v}" for k, v in asdict(report).items()))
    return report
