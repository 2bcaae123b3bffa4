"""Fault injection for outage tests (control/faults, never part of Solaris's API): the API and the
token endpoint answer 500 or hang, the token endpoint alone is slow, or notifications are lost.

The control endpoints and the hosted page are never affected, so a test can set, watch and clear
an outage while it lasts.
"""

import datetime as dt
import time

from django.db.models import F, Q
from django.utils import timezone

from .models import Fault

# A hang longer than this would hold a server process for longer than any test needs.
MAX_SECONDS = 60.0
MODES = tuple(Fault.Mode.values)


def fault_set(*, mode: str, seconds: float = 0.0, match: str = "", duration: float | None = None) -> Fault:
    """Replace the fault in force. `duration` (seconds) makes the outage end by itself."""
    until = timezone.now() + dt.timedelta(seconds=duration) if duration else None
    Fault.objects.all().delete()
    return Fault.objects.create(mode=mode, seconds=min(seconds, MAX_SECONDS), match=match, until=until)


def fault_clear() -> None:
    Fault.objects.all().delete()


def fault_current() -> Fault | None:
    return Fault.objects.filter(Q(until=None) | Q(until__gt=timezone.now())).first()


def fault_in_force(path: str, *, modes: tuple[str, ...]) -> Fault | None:
    """The fault that applies to `path` (a request path or a notification URL), counted as a
    hit; None when there is none."""
    fault = fault_current()
    if fault is None or fault.mode not in modes or (fault.match and fault.match not in path):
        return None
    Fault.objects.filter(pk=fault.pk).update(hits=F("hits") + 1)
    return fault


def hang(fault: Fault) -> None:
    time.sleep(min(fault.seconds, MAX_SECONDS))


def fault_json(fault: Fault | None) -> dict:
    if fault is None:
        return {"mode": "none"}
    return {
        "mode": fault.mode,
        "seconds": fault.seconds,
        "match": fault.match,
        "until": fault.until.isoformat() if fault.until else None,
        "hits": fault.hits,
    }
