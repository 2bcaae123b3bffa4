"""When a polled session is fetched next (VerificationSession.poll_next_at), for the providers that
must be polled (Provider.poll_interval; ShareID: no more than one fetch per 5 s, its callback only
a hint). The schedule lives in the database, not in queued tasks: a worker that dies loses no
session, and the broker holds no task per session (kyc/services/polling.py claims the due ones).

The two columns, as the poller keeps them:
- `poll_next_at`: when the session is due; None: not polled (not a polled provider, decided,
  closed, or stopped on a permanent error). While a poller holds it (a claim), the claim's lease:
  the time it comes due again should that poller die mid-fetch.
- `polled_at`: when the last fetch was answered. While a claim is held: one interval before the
  lease's end (the claim's fetch is answered by then, kyc/services/polling.py), so that nothing
  brings the session forward while its fetch is in flight.

The rule every writer keeps: a session is never due sooner than one interval after `polled_at`,
so that the provider never receives two fetches of one session within its interval, a hint's
included (hints only move `poll_next_at`, through `session_poll_soon`). Counted from the answer,
not from the start: the provider counts from when a fetch reached it, which is before the answer.

Below every service that may ask for a fetch (a hint, a launch, a new session): it imports only
the models and the registry.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from kyc import status as st
from kyc.models import VerificationSession
from providers.registry import find_provider, provider_names


def _interval(provider: str) -> dt.timedelta | None:
    # Not refused when misconfigured (find_provider): scheduling calls no one.
    found = find_provider(provider)
    return found.poll_interval if found is not None else None


def session_poll_start(*, session_id: int, provider: str, at: dt.datetime | None = None) -> bool:
    """Poll the session from `at` (default: one interval from now), if its provider is polled.
    For a session that has a new provider session (a new applicant at ShareID: a fetch of it owes
    nothing to the previous one's interval). Returns whether the session is now scheduled."""
    interval = _interval(provider)
    if interval is None:
        return False
    when = at or timezone.now() + interval
    return bool(
        VerificationSession.objects.filter(pk=session_id, status__in=st.OPEN).update(poll_next_at=when)
    )


def session_poll_soon(*, session_id: int, provider: str) -> bool:
    """Fetch the session as soon as the provider allows (a hint came: ShareID's callback): now, or
    one interval after its last fetch was answered (or after the lease of a fetch in flight).
    Never later than it was due already. Returns whether the session is scheduled."""
    interval = _interval(provider)
    if interval is None:
        return False
    row = (
        VerificationSession.objects.filter(pk=session_id, status__in=st.OPEN)
        .values("polled_at", "poll_next_at")
        .first()
    )
    if row is None:
        return False
    soonest = max(timezone.now(), row["polled_at"] + interval) if row["polled_at"] else timezone.now()
    if row["poll_next_at"] is not None and row["poll_next_at"] <= soonest:
        return True
    # Conditional on what was read: a poller that claimed or recorded the session meanwhile wrote
    # a schedule that keeps the rule already, and is not overwritten. A session not polled (lost,
    # or stopped on a permanent error) is polled again: the hint is news worth one more fetch.
    return bool(
        VerificationSession.objects.filter(
            pk=session_id, poll_next_at=row["poll_next_at"], polled_at=row["polled_at"]
        ).update(poll_next_at=soonest)
    )


def session_poll_stop(*, session_id: int) -> None:
    VerificationSession.objects.filter(pk=session_id).exclude(poll_next_at=None).update(poll_next_at=None)


def polled_providers() -> list[str]:
    """The enabled providers that are polled (Provider.poll_interval), misconfigured ones included
    (their sessions are still theirs to schedule)."""
    return [name for name in provider_names() if _interval(name) is not None]


def polled_q() -> Q:
    """Sessions of the polled providers."""
    return Q(provider__in=polled_providers())
