"""The review queue's SLA: a case is late, then overdue, so many hours after it entered the queue
(`queued_at`: the provider's result, kyc.reviews.queue_state). The thresholds are settings
(KYC_SLA_LATE_HOURS, KYC_SLA_OVERDUE_HOURS)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q

ON_TIME, LATE, OVERDUE = "on_time", "late", "overdue"
LABELS = {ON_TIME: "On time", LATE: "Late", OVERDUE: "Overdue"}


def late_after() -> dt.timedelta:
    return dt.timedelta(hours=settings.KYC_SLA_LATE_HOURS)


def overdue_after() -> dt.timedelta:
    return dt.timedelta(hours=settings.KYC_SLA_OVERDUE_HOURS)


def sla_state(queued_since: dt.datetime | None, now: dt.datetime) -> str:
    if queued_since is None:
        return ON_TIME
    waited = now - queued_since
    if waited >= overdue_after():
        return OVERDUE
    if waited >= late_after():
        return LATE
    return ON_TIME


def sla_q(state: str, now: dt.datetime) -> Q:
    """The cases of the queue in that state, as a filter on `queued_at` (its index serves it)."""
    late, overdue = now - late_after(), now - overdue_after()
    if state == OVERDUE:
        return Q(queued_at__lte=overdue)
    if state == LATE:
        return Q(queued_at__lte=late, queued_at__gt=overdue)
    if state == ON_TIME:
        return Q(queued_at__gt=late)
    raise ValueError(f"unknown SLA state {state!r}")
