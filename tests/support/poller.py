"""The poller beside the live stack: `manage.py poll_sessions` as a process of its own, on the
stack's database, cache and broker, as `make run` runs it beside the development server
(docs/operations.md, "Polling"). A test that needs polled sessions decided (ShareID) asks for
`live_poller`; the stack itself does not poll, so that the other suites' timings stay their own.

Per test, not per run: it stops before pytest-django empties the tables after the test, so that no
poll of the test's sessions runs into that TRUNCATE."""

from __future__ import annotations

import sys
import time

import pytest

from tests.support.servers import LiveStack, ServiceProcess

# Long enough for Django to load and the first tick to run: a poller that dies at start (a bad
# setting) fails the test here, not as a decision that never comes.
STARTUP_SECONDS = 2.0


def poller_process(stack: LiveStack, name: str = "poller") -> ServiceProcess:
    return ServiceProcess(
        name,
        [sys.executable, "manage.py", "poll_sessions", "-v", "2"],
        env=stack.env(),
        log_path=stack.log_dir / f"{name}.log",
    )


@pytest.fixture
def live_poller(live_stack) -> ServiceProcess:
    """A `poll_sessions` process for this test; its log beside the app's (stack.log_dir)."""
    poller = poller_process(live_stack)
    poller.start()
    try:
        time.sleep(STARTUP_SECONDS)
        if not poller.alive:
            pytest.fail(f"poll_sessions exited at start:\n{poller.tail()}", pytrace=False)
        yield poller
    finally:
        poller.stop()
