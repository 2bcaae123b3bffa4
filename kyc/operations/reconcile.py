"""Reconciliation: the periodic sweep that makes a missed webhook or a lost task cost minutes,
not a case. Run by Celery beat (settings.CELERY_BEAT_SCHEDULE) and by
`manage.py reconcile`. Every step is safe to run twice, or beside the work it recovers: the tasks
and services it calls find done work done.

1. Quiet sessions are asked at the provider (Veriff: GET /sessions/{id}/decision) and a decision
   is applied through the same service as a webhook; the webhook, if it comes later, is then a
   duplicate. Not those of a polled provider (ShareID): the poller fetches them, within the
   provider's rate rule (kyc/operations/polling.py); a polled session that is off the schedule
   without ever having been polled (lost) is put back on it, due now.
2. Sessions past the provider's lifetime (Veriff: 7 days) with no decision are closed: expired if
   the user never started, abandoned if they did (a polled one after KYC_POLL_LIFETIME_GRACE more).
3. Lost work is queued again: provider sessions never created, media listings never made,
   downloads that stopped, inbound events never processed. Parked work is left to a human.
4. Temporary files left by a worker killed mid-download are removed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from kyc import status as st
from kyc import tasks
from kyc.media import TEMP_PREFIX, TEMP_SUFFIX, _temp_dir
from kyc.models import Media, VerificationSession
from kyc.operations.expiry import session_close_past_lifetime
from kyc.selectors import session_person_id
from kyc.services.poll_schedule import polled_providers
from kyc.services.updates import MEDIA_BEARING_STATUSES, session_apply_update
from providers.base import ProviderError
from providers.registry import find_provider, get_provider
from webhooks import tasks as webhook_tasks
from webhooks.models import InboundEvent

logger = logging.getLogger(__name__)

OPEN = (st.CREATED, st.STARTED, st.SUBMITTED, st.RESUBMISSION_REQUESTED)
# Sessions asked per run, so that one run stays short whatever the backlog; the oldest first.
POLL_BATCH = 200


@dataclass
class ReconcileReport:
    polled: int = 0
    applied: int = 0
    closed: int = 0
    poll_errors: int = 0
    requeued: dict[str, int] = field(default_factory=dict)
    temp_files_removed: int = 0

    def as_dict(self) -> dict:
        return {
            "polled": self.polled,
            "applied": self.applied,
            "closed": self.closed,
            "poll_errors": self.poll_errors,
            "requeued": dict(self.requeued),
            "temp_files_removed": self.temp_files_removed,
        }


def reconcile(*, now: dt.datetime | None = None, progress=None) -> ReconcileReport:
    """One pass of everything. `progress(n)` is called as sessions are polled (the command's bar)."""
    now = now or timezone.now()
    report = ReconcileReport()
    quiet_since = now - dt.timedelta(seconds=settings.KYC_RECONCILE_QUIET_AFTER)
    stuck_since = now - dt.timedelta(seconds=settings.KYC_RECONCILE_STUCK_AFTER)
    _poll_quiet_sessions(report, now=now, quiet_since=quiet_since, progress=progress)
    report.requeued["polling"] = _rearm_lost_polled_sessions(now)
    report.closed += _close_polled_sessions_past_lifetime(now)
    report.requeued["provider_create"] = _requeue_provider_creates(stuck_since)
    report.requeued["media_listing"] = _requeue_media_listings(stuck_since)
    report.requeued["media_download"] = _requeue_media_downloads(stuck_since)
    report.requeued["inbound_event"] = _requeue_inbound_events(stuck_since)
    report.temp_files_removed = _remove_abandoned_temp_files(stuck_since)
    logger.info("reconcile %s", " ".join(f"{k}={v}" for k, v in report.as_dict().items()))
    return report


def quiet_sessions(*, quiet_since: dt.datetime):
    """Open sessions the provider knows, with no news and not asked since `quiet_since`; not
    those of a polled provider (the poller asks them)."""
    return (
        VerificationSession.objects.filter(
            status__in=OPEN,
            provider_session_id__isnull=False,
            status_changed_at__lt=quiet_since,
            customer__erased_at=None,
        )
        .exclude(provider__in=polled_providers())
        .filter(Q(reconciled_at=None) | Q(reconciled_at__lt=quiet_since))
        .order_by(F("reconciled_at").asc(nulls_first=True), "status_changed_at")
    )


def _poll_quiet_sessions(report: ReconcileReport, *, now, quiet_since, progress) -> None:
    for session in quiet_sessions(quiet_since=quiet_since)[:POLL_BATCH]:
        provider = get_provider(session.provider)
        VerificationSession.objects.filter(pk=session.pk).update(reconciled_at=now)
        report.polled += 1
        if progress:
            progress(1)
        try:
            update = provider.fetch_update(
                session.provider_session_id,
                provider_person_id=session_person_id(
                    customer_id=session.customer_id, provider=session.provider
                ),
            )
        except ProviderError as exc:
            # The provider is down: the next run asks again. Closing by age waits too, because
            # the provider may hold a decision we have not heard of.
            report.poll_errors += 1
            logger.warning("reconcile: polling session %s failed: %s", session.pk, exc)
            continue
        if update is not None:
            result = session_apply_update(provider=session.provider, update=update)
            report.applied += result.value == "applied"
            session.refresh_from_db(fields=["status"])
        lifetime_start = session.provider_created_at or session.created_at
        if session.status in OPEN and lifetime_start < now - provider.session_lifetime:
            report.closed += session_close_past_lifetime(session_id=session.pk)


def _polled_open_sessions():
    return VerificationSession.objects.filter(
        provider__in=polled_providers(), status__in=OPEN, provider_session_id__isnull=False
    )


def _rearm_lost_polled_sessions(now) -> int:
    """Polled sessions off the schedule that were never polled (made before the poller, or by a
    path that did not schedule them): due now. One stopped on a permanent error (it was polled:
    `polled_at`) stays stopped, in its audit trail; a hint or a new launch starts it again."""
    return _polled_open_sessions().filter(poll_next_at=None, polled_at=None).update(poll_next_at=now)


def _close_polled_sessions_past_lifetime(now) -> int:
    """The poller closes the sessions it claims past their lifetime; these are those it does not
    claim (stopped on a permanent error, or no poller running)."""
    closed = 0
    grace = dt.timedelta(seconds=settings.KYC_POLL_LIFETIME_GRACE)
    for name in polled_providers():
        cutoff = now - find_provider(name).session_lifetime - grace
        ids = (
            _polled_open_sessions()
            .filter(provider=name)
            .alias(lifetime_start=Coalesce("provider_created_at", "created_at"))
            .filter(lifetime_start__lt=cutoff)
            .values_list("pk", flat=True)
        )
        closed += sum(session_close_past_lifetime(session_id=pk) for pk in ids)
    return closed


def _requeue_provider_creates(stuck_since) -> int:
    ids = list(
        VerificationSession.objects.filter(
            provider_session_id__isnull=True,
            provider_error_permanent=False,
            parked_at=None,
            created_at__lt=stuck_since,
        )
        .exclude(status__in=st.CONCLUSIVE)
        .filter(Q(provider_next_attempt_at=None) | Q(provider_next_attempt_at__lt=stuck_since))
        .values_list("pk", flat=True)
    )
    for session_id in ids:
        tasks.session_create_at_provider.delay(session_id)
    return len(ids)


def _requeue_media_listings(stuck_since) -> int:
    """Sessions decided with media at the provider whose listing was never recorded after it."""
    ids = list(
        VerificationSession.objects.filter(
            status__in=MEDIA_BEARING_STATUSES, decided_at__lt=stuck_since, provider_session_id__isnull=False
        )
        .filter(Q(media_listed_at=None) | Q(media_listed_at__lt=F("decided_at")))
        .filter(customer__erased_at=None)
        .values_list("pk", flat=True)
    )
    for session_id in ids:
        tasks.session_media_sync.delay(session_id)
    return len(ids)


def _requeue_media_downloads(stuck_since) -> int:
    ids = list(
        Media.objects.filter(state=Media.State.PENDING, parked_at=None, purged_at=None)
        .filter(Q(last_attempt_at=None, created_at__lt=stuck_since) | Q(last_attempt_at__lt=stuck_since))
        .filter(Q(next_attempt_at=None) | Q(next_attempt_at__lt=stuck_since))
        .values_list("pk", flat=True)
    )
    for media_id in ids:
        tasks.media_download.delay(media_id)
    return len(ids)


def _requeue_inbound_events(stuck_since) -> int:
    """Events stored but never processed (their task was lost with the broker or a worker), and
    events waiting for a session that exists by now."""
    unprocessed = InboundEvent.objects.filter(
        authenticated=True, state=InboundEvent.State.RECEIVED, received_at__lt=stuck_since
    )
    session_known = VerificationSession.objects.filter(
        provider=OuterRef("provider"), provider_session_id=OuterRef("provider_session_id")
    )
    waiting = InboundEvent.objects.filter(
        Exists(session_known),
        authenticated=True,
        state=InboundEvent.State.WAITING,
        received_at__lt=stuck_since,
    )
    ids = sorted(set(unprocessed.values_list("pk", flat=True)) | set(waiting.values_list("pk", flat=True)))
    for event_id in ids:
        webhook_tasks.inbound_event_process.delay(event_id)
    return len(ids)


def _remove_abandoned_temp_files(stuck_since) -> int:
    """Partial downloads of killed workers: nothing still being written (by its modification time)."""
    directory = _temp_dir()
    cutoff = stuck_since.timestamp() if stuck_since else time.time()
    removed = 0
    for name in os.listdir(directory):
        if not (name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)):
            continue
        path = os.path.join(directory, name)
        try:
            if os.path.getmtime(path) < cutoff:
                os.unlink(path)
                removed += 1
        except FileNotFoundError:
            continue  # finished, or removed by another run, meanwhile
    return removed
