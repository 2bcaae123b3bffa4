"""Fault injection for outage tests (control/faults, never part of ShareID's API).

- the next N calls of a kind (start, fetch_token, fetch, authenticate) answer 500 or 503, or hang
  and then answer 504 without doing the call's work (so that a call the client gave up on leaves
  nothing behind: no applicant created, no fetch counted against the 5-second rule);
- switches: images only in the callback (the fetch gives null images), the callback's answer
  ignored (each callback sent once, never retried).

The SDK page and the control endpoints are never affected.
"""

import time
from typing import Any

from django.db.models import F

from .models import Fault, Switch

# A hang longer than this would hold a server process for longer than any test needs.
MAX_HANG_SECONDS = 60.0
STATUSES = (500, 503)
KINDS = tuple(Fault.Kind.values)
SWITCHES = tuple(Switch.Name.values)


def fault_add(*, kind: str, count: int, status: int | None = None, hang_seconds: float = 0.0) -> Fault:
    return Fault.objects.create(
        kind=kind, status=status, hang_seconds=min(hang_seconds, MAX_HANG_SECONDS), remaining=count
    )


def faults_clear() -> None:
    Fault.objects.all().delete()
    Switch.objects.all().delete()


def switch_set(name: str, *, on: bool) -> None:
    if on:
        Switch.objects.get_or_create(name=name)
    else:
        Switch.objects.filter(name=name).delete()


def switch_on(name: str) -> bool:
    return Switch.objects.filter(name=name).exists()


def fault_take(kind: str) -> Fault | None:
    """The fault this call of `kind` plays, if one is queued: its count goes down by one. Asked on
    every API call, so the usual answer (nothing queued) is one cheap read, no transaction."""
    while True:
        fault = Fault.objects.filter(kind=kind, remaining__gt=0).order_by("id").first()
        if fault is None:
            return None
        # Claimed with a conditional update: of two concurrent calls, only one takes the last of a
        # count; the other looks again.
        if Fault.objects.filter(pk=fault.pk, remaining__gt=0).update(
            remaining=F("remaining") - 1, hits=F("hits") + 1
        ):
            return fault


def hang(fault: Fault) -> None:
    time.sleep(min(fault.hang_seconds, MAX_HANG_SECONDS))


def faults_json() -> dict[str, Any]:
    return {
        "faults": [
            {
                "id": fault.id,
                "kind": fault.kind,
                "status": fault.status,
                "hang": fault.hang_seconds or None,
                "remaining": fault.remaining,
                "hits": fault.hits,
            }
            for fault in Fault.objects.all()
        ],
        "switches": {name: Switch.objects.filter(name=name).exists() for name in SWITCHES},
    }
