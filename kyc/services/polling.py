"""Polling the providers that must be polled (Provider.poll_interval; ShareID: its callback is
optional and only a hint, and it asks for no more than one fetch per 5 s).

One task per open session, rescheduling itself: it fetches the result, applies what it says, and
comes back after the provider's interval while the session is open. "Not ready yet" (no update)
and "too many calls" (ProviderRateLimited) are the ordinary answers of a poll: rescheduled, no
error logged, no failure counted. Reconciliation (kyc/operations/reconcile.py) still looks at
sessions that went quiet, should a worker lose the chain.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from kyc import status as st
from kyc.audit import audit_batch
from kyc.models import VerificationSession
from kyc.selectors import session_person_id
from kyc.services.provider_updates import provider_update_apply
from providers.base import ProviderError, ProviderRateLimited
from providers.registry import get_provider

logger = logging.getLogger(__name__)

# The task's name, by which kyc/services/provider_sessions.py queues it (see there why).
POLL_TASK = "kyc.services.polling.session_poll"

# After a transient fault (a timeout, a 5xx) the next poll waits this many intervals.
FAULT_INTERVALS = 6


def session_poll_once(*, session_id: int) -> float | None:
    """Poll one session once: seconds until the next poll, None when polling it is over (closed,
    not polled, refused for good)."""
    row = (
        VerificationSession.objects.filter(pk=session_id)
        .values_list("provider", "provider_session_id", "status", "customer_id")
        .first()
    )
    if row is None:
        return None
    name, provider_session_id, status, customer_id = row
    provider = get_provider(name)
    if provider.poll_interval is None or not provider_session_id or status not in st.OPEN:
        return None
    interval = provider.poll_interval.total_seconds()
    try:
        update = provider.fetch_update(
            provider_session_id,
            provider_person_id=session_person_id(customer_id=customer_id, provider=name),
        )
    except ProviderRateLimited as exc:
        return max(interval, exc.retry_after or 0)
    except ProviderError as exc:
        if exc.permanent:
            logger.error("polling session %s stopped: %s", session_id, exc)
            return None
        logger.warning("polling session %s failed, polled again later: %s", session_id, exc)
        return interval * FAULT_INTERVALS
    if update is None:
        return interval  # not ready yet
    with transaction.atomic(), audit_batch():
        provider_update_apply(provider=name, update=update)
    still_open = VerificationSession.objects.filter(pk=session_id, status__in=st.OPEN).exists()
    return interval if still_open else None


@shared_task(bind=True, ignore_result=True, name=POLL_TASK)
def session_poll(self, session_id: int) -> None:
    countdown = session_poll_once(session_id=session_id)
    if countdown is None:
        return
    if self.request.is_eager:
        # Tasks run in-process (no broker): a countdown would be a loop inside the request that
        # started it. One poll per start then; reconciliation polls quiet sessions.
        return
    session_poll.apply_async((session_id,), countdown=countdown)
