"""The retention purge (Celery beat, `manage.py purge`): evidence is kept as long as the law and
the settings say, then deleted or blanked, keeping the minimal legal record (README, "Operations").

- Evidence files: KYC_RETENTION_MEDIA_DAYS after the session's final decision.
- The decision record's personal data (verified person and document, raw payloads, stored webhook
  bodies): KYC_RETENTION_RECORD_DAYS (the AML period) after the final decision, or after the
  session was created for one that never got one. Files still there go too.
- A customer with nothing newer than the AML period: their profile is blanked as by an erasure.
- Webhooks that were not authentic or not readable: KYC_RETENTION_REJECTED_WEBHOOK_DAYS.

A session in `review` waits for its final staff decision and is kept whole meanwhile.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from kyc import status as st
from kyc.models import Customer, Media, ProviderDecision, VerificationSession
from kyc.operations.erasure import customer_erase
from kyc.operations.redaction import decisions_redact, inbound_events_redact, media_purge
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


def _days_ago(now: dt.datetime, days: int) -> dt.datetime:
    return now - dt.timedelta(days=days)


def purge_plan(*, now: dt.datetime | None = None) -> PurgePlan:
    now = now or timezone.now()
    media_cutoff = _days_ago(now, settings.KYC_RETENTION_MEDIA_DAYS)
    record_cutoff = _days_ago(now, settings.KYC_RETENTION_RECORD_DAYS)
    media_ids = Media.objects.filter(
        purged_at=None, session__status__in=FINAL, session__decided_at__lt=media_cutoff
    ).values_list("pk", flat=True)
    past_record = VerificationSession.objects.filter(
        Q(status__in=FINAL, decided_at__lt=record_cutoff)
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
    ).exclude(
        Exists(recent_session)
        | Exists(VerificationSession.objects.filter(customer=OuterRef("pk"), status=st.REVIEW))
    )
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
        provider_session_id = (
            VerificationSession.objects.filter(pk=session_id)
            .values_list("provider_session_id", flat=True)
            .get()
        )
        if provider_session_id:
            report.webhooks_redacted += inbound_events_redact(
                InboundEvent.objects.filter(provider_session_id=provider_session_id)
            )
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
    logger.info("retention purge %s", " ".join(f"{k}={v}" for k, v in asdict(report).items()))
    return report
