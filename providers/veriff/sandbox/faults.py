"""Fault injection for outage tests: the provider API answers 500, hangs, or streams media slowly
while a fault is set through control/faults (never part of Veriff's API).

Only the provider API under /v1/ is affected: the control endpoints and the hosted page keep
working, so a test can set, watch and clear the outage, and the end user's page still loads.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db.models import F
from django.utils import timezone

from .models import SandboxFault

# A hang longer than this would hold a server process hostage for longer than any test needs.
MAX_SECONDS = 60.0


def fault_set(
    *, mode: str, seconds: float = 0.0, match: str = "", duration: float | None = None
) -> SandboxFault:
    """Replace the fault in force. `duration` (seconds) makes the outage end by itself."""
    until = timezone.now() + dt.timedelta(seconds=duration) if duration else None
    SandboxFault.objects.all().delete()
    return SandboxFault.objects.create(mode=mode, seconds=min(seconds, MAX_SECONDS), match=match, until=until)


def fault_clear() -> None:
    SandboxFault.objects.all().delete()


def fault_in_force(path: str, *, modes: tuple[str, ...], request=None) -> SandboxFault | None:
    """The fault that applies to a request for `path`, counted as a hit; None when there is none.

    With `request`, the row is read once per request and kept on it: a media download asks twice
    (an outage, then a slow stream), and every query here is the sandbox's CPU, which the
    latency benchmark shares with the app (benchmarks/decision_latency.py)."""
    if request is None:
        fault = _in_force()
    else:
        if not hasattr(request, "_sandbox_fault"):
            request._sandbox_fault = _in_force()
        fault = request._sandbox_fault
    if fault is None or fault.mode not in modes or (fault.match and fault.match not in path):
        return None
    SandboxFault.objects.filter(pk=fault.pk).update(hits=F("hits") + 1)
    return fault


def _in_force() -> SandboxFault | None:
    """The row in force, if any (one row at most: fault_set replaces it). Asked on every call of
    the provider API, so written as the one statement it is rather than built by the ORM's
    compiler, which cost more CPU than the rest of the look-up (benchmarks/decision_cpu.py)."""
    table = SandboxFault._meta.db_table
    rows = SandboxFault.objects.raw(
        f"SELECT * FROM {table} WHERE until IS NULL OR until > %s LIMIT 1",  # noqa: S608 (our table name)
        [timezone.now()],
    )
    return next(iter(rows), None)


def fault_json(fault: SandboxFault | None) -> dict:
    if fault is None:
        return {"mode": "none"}
    return {
        "mode": fault.mode,
        "seconds": fault.seconds,
        "match": fault.match,
        "until": fault.until.isoformat() if fault.until else None,
        "hits": fault.hits,
    }


def hang(fault: SandboxFault) -> None:
    time.sleep(min(fault.seconds, MAX_SECONDS))
