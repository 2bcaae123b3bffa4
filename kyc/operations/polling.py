"""The poller: the due sessions of the polled providers fetched (kyc/services/polling.py), and those
past their lifetime closed (kyc/operations/expiry.py). Run by the Celery beat task
`kyc.tasks.poll_due` (kyc/beat.py) every KYC_POLL_TICK seconds, or by `manage.py poll_sessions` (a
process of its own: development has no broker; docs/operations.md). Any number of them side by
side: each claims different sessions.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings

from kyc.operations.expiry import session_close_past_lifetime
from kyc.services.polling import PollReport, sessions_poll_due

logger = logging.getLogger(__name__)


def poll_due(*, now: dt.datetime | None = None, limit: int | None = None) -> PollReport:
    """One batch: claim up to `limit` due sessions (KYC_POLL_BATCH), fetch them, record the
    outcomes, and close the sessions found past their lifetime (plus KYC_POLL_LIFETIME_GRACE)."""
    report = sessions_poll_due(now=now, limit=limit)
    for session_id in report.past_lifetime:
        # Expired if never started, abandoned if started; a decision applied meanwhile wins.
        report.closed += session_close_past_lifetime(session_id=session_id)
    return report


def poll_tick(*, budget: float | None = None, limit: int | None = None) -> PollReport:
    """Batches until nothing is due or `budget` seconds (KYC_POLL_TICK_BUDGET) are spent: a tick
    catches up with a backlog, and still ends, so that a worker is never captive."""
    budget = settings.KYC_POLL_TICK_BUDGET if budget is None else budget
    limit = limit or settings.KYC_POLL_BATCH
    deadline = time.monotonic() + budget
    total = PollReport()
    while True:
        report = poll_due(limit=limit)
        total.add(report)
        taken = report.claimed + report.dropped + len(report.past_lifetime)
        if taken < limit or time.monotonic() >= deadline:
            break
    if total.claimed or total.dropped or total.past_lifetime:
        logger.debug("poll %s", " ".join(f"{k}={v}" for k, v in total.as_dict().items()))
    return total
