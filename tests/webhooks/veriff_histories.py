"""What Veriff says about a session over its life, as the webhook bodies it sends, in its order:
the events (7001 started, 7002 submitted) and decisions of each attempt, a resubmission opening
the next attempt. Used to deliver them shuffled, repeated and forged, and to know the provider's
last word. Plain functions: no Django."""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass

CODES = {
    "approved": 9001,
    "declined": 9102,
    "resubmission_requested": 9103,
    "expired": 9104,
    "abandoned": 9104,
    "review": 9121,
}
EVENT_ACTIONS = {7001: "started", 7002: "submitted"}
BASE_TIME = dt.datetime(2026, 1, 1, 10, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Fact:
    kind: str  # "events" or "decision": the webhook URL it goes to
    body: bytes
    status: str  # the normalized status it implies


def event(session_id: str, attempt_id: str, code: int) -> Fact:
    body = {
        "id": session_id,
        "attemptId": attempt_id,
        "feature": "selfid",
        "code": code,
        "action": EVENT_ACTIONS[code],
        "vendorData": None,
    }
    return Fact("events", json.dumps(body, separators=(",", ":")).encode(), EVENT_ACTIONS[code])


def decision(session_id: str, attempt_id: str, status: str, at: dt.datetime) -> Fact:
    verification = {
        "id": session_id,
        "attemptId": attempt_id,
        "code": CODES[status],
        "status": status,
        "reason": None,
        "reasonCode": None,
        "person": {"firstName": "STORM", "lastName": "TESTER"},
        "document": {"type": "PASSPORT", "number": "ST0001", "country": "EE"},
        "decisionTime": at.isoformat().replace("+00:00", "Z"),
        "acceptanceTime": BASE_TIME.isoformat().replace("+00:00", "Z"),
    }
    body = {"status": "success", "verification": verification, "technicalData": {"ip": "127.0.0.1"}}
    return Fact("decision", json.dumps(body, separators=(",", ":")).encode(), status)


def history(session_id: str, rng: random.Random, *, attempts: int, ending: str) -> list[Fact]:
    """`attempts` tries, all but the last resubmitted; the last ends with `ending`: a decision
    status, or "started"/"submitted" for an attempt still in progress."""
    facts: list[Fact] = []
    at = BASE_TIME + dt.timedelta(seconds=rng.randrange(1000))
    for number in range(1, attempts + 1):
        attempt_id = f"{session_id[:8]}-a{number}"
        last = number == attempts
        final = ending if last else "resubmission_requested"
        if final == "expired":
            facts.append(decision(session_id, attempt_id, final, at))  # never started: no events
            break
        facts.append(event(session_id, attempt_id, 7001))
        if final == "started":
            break
        if final != "abandoned":
            facts.append(event(session_id, attempt_id, 7002))
        if final == "submitted":
            break
        at += dt.timedelta(minutes=rng.randrange(1, 60))
        facts.append(decision(session_id, attempt_id, final, at))
    return facts


def last_word(facts: list[Fact]) -> str:
    return facts[-1].status
