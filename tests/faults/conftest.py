"""Fault-injection tests on the real thing: gunicorn, a Celery worker, PostgreSQL, Redis and the
Veriff sandbox over HTTP (tests/support). Each test starts its own stack with the settings its
fault needs (short provider timeouts, reconciliation thresholds of seconds) and may kill its
worker or cut its database. Run in their own pytest session (`make test-faults`, part of
`make test-integration`), never beside the shared stack of tests/integration: two workers on one
broker queue would take each other's tasks.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.faults.stack import FaultStack
from tests.providers_config import with_options
from tests.support.fixtures import _flush_broker, missing_service, require
from tests.support.servers import StartupError, database_url

# Faults are noticed in seconds, not minutes: a provider call gives up after 1 s, reconciliation
# asks about sessions quiet for 1 s and re-queues work stuck for 3 s.
FAULT_ENV = {
    "VERIFF_TIMEOUT": "1",
    "KYC_RECONCILE_QUIET_AFTER": "1",
    "KYC_RECONCILE_STUCK_AFTER": "3",
}

_running: list[FaultStack] = []


@pytest.fixture
def start_stack(request, tmp_path_factory, settings):
    """start_stack(concurrency=2, **env) → a running FaultStack; the test process's settings follow
    it (URLs, media folder, thresholds). Stopped after the test, once its worker is idle."""
    reason = missing_service()
    require(not reason, reason)
    request.getfixturevalue("django_db_setup")
    from django.db import connection

    def start(concurrency: int = 2, **env: str) -> FaultStack:
        root = tmp_path_factory.mktemp("faults")
        stack = FaultStack(
            database_url=database_url(connection.settings_dict),
            broker_url=settings.CELERY_BROKER_URL,
            media_root=root / "media",
            log_dir=root / "logs",
            extra_env={**FAULT_ENV, **env},
        )
        stack.worker_concurrency = concurrency
        _flush_broker(stack.broker_url)
        try:
            stack.start()
        except StartupError as exc:
            pytest.fail(f"the fault stack did not start: {exc}", pytrace=False)
        _running.append(stack)
        settings.KYC_PUBLIC_URL = stack.base_url
        with_options(settings, "veriff", api_url=stack.veriff_api_url)
        settings.MEDIA_ROOT = str(stack.media_root)
        with_options(settings, "veriff", timeout=float(stack.extra_env["VERIFF_TIMEOUT"]))
        settings.KYC_RECONCILE_QUIET_AFTER = int(stack.extra_env["KYC_RECONCILE_QUIET_AFTER"])
        settings.KYC_RECONCILE_STUCK_AFTER = int(stack.extra_env["KYC_RECONCILE_STUCK_AFTER"])
        return stack

    yield start
    while _running:
        stack = _running.pop()
        if stack.worker is not None and stack.worker.alive:
            stack.wait_idle(timeout=30)
        stack.stop()


@pytest.fixture
def stack(start_stack) -> FaultStack:
    return start_stack()


@pytest.fixture
def sandbox(stack):
    from tests.support.veriff import SandboxControl

    control = SandboxControl(stack.base_url)
    yield control
    # Never leave an outage behind for the next test's stack (the fault lives in the database).
    requests.post(f"{control.base}/faults", json={"mode": "none"}, timeout=15)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test shows the end of its stack's logs."""
    report = yield
    if report.failed:
        for stack in _running:
            for path in sorted(Path(stack.log_dir).glob("*.log")):
                lines = path.read_text(errors="replace").splitlines()[-40:]
                report.sections.append((f"{path.name}, last lines", "\n".join(lines)))
    return report
