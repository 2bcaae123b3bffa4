"""Processing a stored event: claim it, have it applied, mark what came of it.

The store does not know what an event means: the processor named in settings
(`WEBHOOKS_EVENT_PROCESSOR`, a dotted path, as dj-stripe names its webhook handler) applies it.
Here are only the mechanics every event shares: the claim (a conditional update on the state), the
state it ends in, and what a failure leaves for a retry or for a human.
"""

from __future__ import annotations

import functools
import logging
import traceback
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from webhooks.models import InboundEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Applied:
    """What the processor made of one event."""

    # About a session we do not have yet: the event waits (WAITING) and is released when the
    # session exists (webhooks.services.inbound_events_release_waiting).
    waiting: bool = False
    # The session the event is about, as read from it: indexes an event stored without one (kept
    # as malformed, readable since a fix, replayed).
    provider_session_id: str = ""


class EventProcessor(Protocol):
    def apply(self, event: InboundEvent) -> Applied:
        """Apply one authentic event, inside the transaction that claimed it (its work commits or
        rolls back with the claim). Raises to fail the event (FAILED, kept for a replay)."""

    def session_known(self, provider: str, provider_session_id: str) -> bool:
        """Whether an event about this session would be applied now rather than wait."""

    def processing(self) -> AbstractContextManager:
        """Entered around the processing of one event by a task, its commit included (what the
        processor does once the event's work is committed)."""


@functools.cache
def _processor(path: str) -> EventProcessor:
    return import_string(path)


def event_processor() -> EventProcessor:
    """The processor named by settings.WEBHOOKS_EVENT_PROCESSOR."""
    return _processor(settings.WEBHOOKS_EVENT_PROCESSOR)


# States a worker may take an event from. FAILED is not among them: a failed event is parked for a
# human, and only a replay (back to RECEIVED) processes it again.
CLAIMABLE = (InboundEvent.State.RECEIVED, InboundEvent.State.WAITING)


def inbound_event_process(*, event_id: int) -> str | None:
    """Apply a stored event through the processor, exactly once; returns the event's new state
    (None: not ours to process — done already, or taken by another worker).

    The claim (a conditional update) and the work commit in one transaction. Of two workers holding
    the same event, the second blocks on the row the first updated and then finds it processed;
    a worker that dies, or loses the database, mid-way rolls its claim back with its work, so
    nothing is half-applied and nothing stays claimed by the dead.
    """
    processor = event_processor()
    try:
        with transaction.atomic():
            claimed = InboundEvent.objects.filter(
                pk=event_id, authenticated=True, state__in=CLAIMABLE
            ).update(
                state=InboundEvent.State.PROCESSING, claimed_at=timezone.now(), attempts=F("attempts") + 1
            )
            if not claimed:
                return None
            event = InboundEvent.objects.get(pk=event_id)
            applied = processor.apply(event)
            if applied.waiting:
                new_state, processed_at = InboundEvent.State.WAITING, None
            else:
                new_state, processed_at = InboundEvent.State.PROCESSED, timezone.now()
            found = {}
            if not event.provider_session_id and applied.provider_session_id:
                # Stored as malformed, readable since (a replay after a fix): index it now.
                event.provider_session_id = applied.provider_session_id[:100]
                found["provider_session_id"] = event.provider_session_id
            InboundEvent.objects.filter(pk=event_id).update(
                state=new_state, processed_at=processed_at, error="", **found
            )
    except (OperationalError, InterfaceError):
        # The database went away: nothing was committed, the event is still RECEIVED. The task
        # retries with backoff (webhooks/tasks.py).
        raise
    except Exception as exc:
        # Personal data can sit in exception messages: the log gets the type, the admin the
        # traceback (staff only).
        logger.error("processing inbound event %s failed: %s", event_id, type(exc).__name__)
        InboundEvent.objects.filter(pk=event_id).update(
            state=InboundEvent.State.FAILED, attempts=F("attempts") + 1, error=traceback.format_exc()[-4000:]
        )
        return InboundEvent.State.FAILED

    # The session may have been attached between our look-up and this commit, after its release
    # ran: look once more now that the WAITING mark is committed. One of the two sides is then
    # sure to see the other.
    if (
        new_state == InboundEvent.State.WAITING
        and event.provider_session_id
        and processor.session_known(event.provider, event.provider_session_id)
    ):
        return inbound_event_process(event_id=event_id)
    return new_state
