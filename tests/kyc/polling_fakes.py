"""A polled provider scripted per session, for the poller's tests (unit and integration): it
answers each session from its own list (None: not ready; an exception; an update), and keeps the
start time of every fetch, so that a test checks the provider's rate rule as the provider sees it.
Thread-safe: the poller fetches from a pool of threads."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from tests.providers.fakes import PullFake

ANSWERS: dict[str, list] = defaultdict(list)
FETCHES: dict[str, list[float]] = defaultdict(list)  # provider session id -> time.monotonic() starts
DELAY = {"seconds": 0.0}  # how long each fetch takes
_lock = threading.Lock()


def reset() -> None:
    with _lock:
        ANSWERS.clear()
        FETCHES.clear()
        DELAY["seconds"] = 0.0


class ScriptedPull(PullFake):
    name = "scripted"

    def fetch_update(self, provider_session_id: str, *, provider_person_id: str = ""):
        with _lock:
            FETCHES[provider_session_id].append(time.monotonic())
            answers = ANSWERS[provider_session_id]
            answer = answers.pop(0) if answers else None
        if DELAY["seconds"]:
            time.sleep(DELAY["seconds"])
        if isinstance(answer, Exception):
            raise answer
        return answer


PROVIDERS = {"scripted": "tests.kyc.polling_fakes.ScriptedPull"}
