"""Pytest fixtures for the live stack, imported by tests/integration/conftest.py and
tests/browser/conftest.py (`from tests.support.fixtures import *`).

Both suites share ONE stack per test run even though each conftest registers its own copy of the
session fixture: the stack is reference-counted here, started by the first suite that asks and
stopped when the last one is done. Two stacks would mean two workers on one broker queue, each
taking the other's tasks with the wrong KYC_PUBLIC_URL.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from pathlib import Path

import pytest
import requests

from tests.providers_config import with_options
from tests.support.servers import LiveStack, StartupError, database_url

IN_CI = os.environ.get("CI") == "true"

_shared: dict = {"stack": None, "users": 0}
# A session due within this is not claimed by a poller (_poller_settle).
UNCLAIMED_WITHIN = dt.timedelta(seconds=35)


def require(condition: bool, reason: str) -> None:
    """Skip for lack of a service locally; in CI nothing may be skipped (README, `make test`)."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: integration and browser tests never skip)", pytrace=False)
    pytest.skip(reason)


def _redacted(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def missing_service() -> str:
    """Why the live stack cannot run here, or "" when PostgreSQL and the broker both answer."""
    import psycopg
    from django.conf import settings
    from kombu import Connection

    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        return (
            "integration tests need PostgreSQL: DATABASE_URL is not a postgres:// URL "
            "(run them with `make test-integration`)"
        )
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    try:
        psycopg.connect(
            host=host,
            port=port,
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {host}:{port} is not reachable: {str(exc).strip()[:200]}"

    broker = settings.CELERY_BROKER_URL
    if not broker:
        return "integration tests need a broker: CELERY_BROKER_URL is not set (run `make test-integration`)"
    try:
        with Connection(broker, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        return f"the broker at {_redacted(broker)} is not reachable: {type(exc).__name__}: {exc}"
    return ""


def _flush_broker(url: str) -> None:
    """Tasks left in the queue by an earlier, interrupted run would hit this run's database."""
    if url.startswith(("redis://", "rediss://")):
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=3).flushdb()


def _shared_cache_env(broker_url: str) -> dict[str, str]:
    """The served app's processes share one cache, as in production (docs/configuration.md,
    CACHE_URL): an OAuth2 token is fetched once for all of them (providers/oauth.py), which a
    test counts. It lives in the broker's Redis database, under Django's key prefix (":1:"),
    which no broker key starts with; `_clear_shared_cache` empties it after each test."""
    if not broker_url.startswith(("redis://", "rediss://")):
        return {}
    return {"CACHE_URL": broker_url}


def _clear_shared_cache(broker_url: str) -> None:
    """What a test left in the stack's cache (tokens, throttle counters) is not the next test's."""
    if broker_url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(broker_url, socket_connect_timeout=3)
        keys = list(client.scan_iter(":1:*"))
        if keys:
            client.delete(*keys)


@pytest.fixture(scope="session")
def live_stack(request, tmp_path_factory) -> LiveStack:
    """The app (gunicorn) and a Celery worker on the test database created by pytest-django."""
    reason = missing_service()
    require(not reason, reason)
    # Only now: with no PostgreSQL, creating the test database would error instead of skipping.
    request.getfixturevalue("django_db_setup")

    if _shared["stack"] is None:
        from django.conf import settings
        from django.db import connection

        root = tmp_path_factory.mktemp("live")
        stack = LiveStack(
            database_url=database_url(connection.settings_dict),
            broker_url=settings.CELERY_BROKER_URL,
            media_root=root / "media",
            log_dir=root / "logs",
            extra_env=_shared_cache_env(settings.CELERY_BROKER_URL),
        )
        _flush_broker(stack.broker_url)
        try:
            stack.start()
        except StartupError as exc:
            pytest.fail(f"the live stack did not start: {exc}", pytrace=False)
        _shared["stack"] = stack
    _shared["users"] += 1
    try:
        yield _shared["stack"]
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            # Before pytest-django drops the test database: it cannot while they are connected.
            _shared["stack"].stop()
            _shared["stack"] = None


@pytest.fixture(autouse=True)
def live_settings(live_stack, settings):
    """The test process builds the same URLs as the served app, and finds its media files."""
    settings.KYC_PUBLIC_URL = live_stack.base_url
    with_options(settings, "veriff", api_url=live_stack.veriff_api_url)
    if "solaris" in settings.KYC_PROVIDERS:
        # The sandbox serves Solaris's auth host and API host under one prefix.
        with_options(settings, "solaris", api_url=live_stack.solaris_url, auth_url=live_stack.solaris_url)
    settings.MEDIA_ROOT = str(live_stack.media_root)
    return settings


@pytest.fixture(autouse=True)
def live_settled(live_stack, request):
    """After each test, wait for the worker and the poller to finish what the test set off.

    pytest-django empties the database after a transactional test with one TRUNCATE of every
    table; a task or a poll still writing then deadlocks with it, or fails on rows that vanished.
    """
    yield
    if request.node.get_closest_marker("django_db") is not None:
        _poller_settle()
    if not live_stack.wait_idle():
        warnings.warn("the Celery worker was still busy 20s after the test", stacklevel=1)
    _clear_shared_cache(live_stack.broker_url)


def _poller_settle(timeout: float = 15.0) -> None:
    """Take every session off the poller's schedule, waiting for the fetches in flight to be
    recorded. A claimed session's poll_next_at is its claim's lease, a minute ahead
    (KYC_POLL_LEASE), until its fetch is recorded; an unclaimed one is due within 30 s (a fault's
    back-off, the longest)."""
    import time

    from django.utils import timezone

    from kyc.models import VerificationSession

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # A claim in progress holds the row: this UPDATE waits for it, then sees the lease and
        # leaves the row to its poller.
        VerificationSession.objects.filter(poll_next_at__lte=timezone.now() + UNCLAIMED_WITHIN).update(
            poll_next_at=None
        )
        if not VerificationSession.objects.exclude(poll_next_at=None).exists():
            return
        time.sleep(0.1)
    left = list(VerificationSession.objects.exclude(poll_next_at=None).values_list("pk", "status"))
    warnings.warn(f"sessions still claimed by a poller 15s after the test: {left}", stacklevel=1)


@pytest.fixture
def end_user(live_stack):
    """A browser-less end user: cookies kept, redirects followed only when the test asks."""
    from tests.support.veriff import EndUser

    with requests.Session() as http:
        http.headers["User-Agent"] = "KYC-Desk-integration-tests"
        yield EndUser(http)


@pytest.fixture
def sandbox(live_stack):
    """The Veriff sandbox's control endpoints on the served app."""
    from tests.support.veriff import SandboxControl

    return SandboxControl(live_stack.base_url)


@pytest.fixture
def solaris(live_stack):
    """The Solaris sandbox's control endpoints and API on the served app."""
    from tests.support.solaris import SolarisSandbox

    return SolarisSandbox(live_stack.base_url)


@pytest.fixture
def solaris_user(live_stack):
    """A browser-less end user for the Solaris flow (the IDnow-like page)."""
    from tests.support.solaris import SolarisEndUser

    with requests.Session() as http:
        http.headers["User-Agent"] = "KYC-Desk-integration-tests"
        yield SolarisEndUser(http)


@pytest.fixture
def shareid(live_stack):
    """The ShareID sandbox's control endpoints on the served app."""
    from tests.support.shareid import ShareIDSandbox

    return ShareIDSandbox(live_stack.base_url)


@pytest.fixture
def shareid_user(live_stack):
    """A browser-less end user for the ShareID flow (the sandbox's SDK page)."""
    from tests.support.shareid import ShareIDEndUser

    with requests.Session() as http:
        http.headers["User-Agent"] = "KYC-Desk-integration-tests"
        yield ShareIDEndUser(http)


@pytest.fixture
def solaris_subscribed(live_stack, live_settings, solaris):
    """The app's webhook subscriptions at the sandbox, made as an operator makes them."""
    from tests.support.solaris import subscribe_app

    subscribe_app()
    return solaris


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test shows the end of the app's and the worker's logs."""
    report = yield
    stack = _shared["stack"]
    if report.failed and stack is not None:
        for name, text in stack.log_tails().items():
            report.sections.append((f"{name} log, last lines ({Path(stack.log_dir)})", text))
    return report
