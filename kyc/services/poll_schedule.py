"""When a polled session is fetched next (VerificationSession.poll_next_at), for the providers that
must be polled (Provider.poll_interval; ShareID: no more than one fetch per 5 s, its callback only
a hint). The schedule lives in the database, not in queued tasks: a worker that dies loses no
session, and the broker holds no task per session (kyc/services/polling.py claims the due ones).

Below every service that may ask for a fetch (a hint, a launch, a new session): it imports only
the models and the registry.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from kyc import status as st
from kyc.models import VerificationSession
from providers.registry import get_provider


def _interval(provider: str) -> dt.timedelta | None:
    return get_provider(provider).poll_interval


def session_poll_start(*, session_id: int, provider: str, at: dt.datetime | None = None) -> bool:
    """Poll the session from `at` (default: one interval from now), if its provider is polled."""
    interval = _interval(provider)
    if interval is None:
        return False
    when = at or timezone.now() + interval
    return bool(
        VerificationSession.objects.filter(pk=session_id, status__in=st.OPEN).update(poll_next_at=when)
    )


def session_poll_soon(*, session_id: int, provider: str) -> bool:
    """Fetch the session as soon as the provider allows (a hint came: ShareID's callback): now, or
    one interval after its last fetch. Never later than it was due already."""
    interval = _interval(provider)
    if interval is None:
        return False
    now = timezone.now()
    session = VerificationSession.objects.filter(pk=session_id, status__in=st.OPEN).values(
        "polled_at", "poll_next_at"
    )
    row = session.first()
    if row is None:
        return False
    soonest = max(now, row["polled_at"] + interval) if row["polled_at"] else now
    if row["poll_next_at"] is not None and row["poll_next_at"] <= soonest:
        return True
    return bool(
        VerificationSession.objects.filter(pk=session_id)
        .filter(Q(poll_next_at=None) | Q(poll_next_at__gt=soonest))
        .update(poll_next_at=soonest)
    )


def session_poll_stop(*, session_id: int) -> None:
    VerificationSession.objects.filter(pk=session_id).exclude(poll_next_at=None).update(poll_next_at=None)
