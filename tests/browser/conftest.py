"""Browser tests: headless Debian Chromium driven by Playwright against the live stack of the
integration suite (same fixtures, tests/support/fixtures.py). `playwright install` is never used:
the browser is the system's /usr/bin/chromium (.ci/run installs it)."""

from pathlib import Path

import pytest
from django.db import connections

from tests.support.fixtures import (  # noqa: F401  (fixtures and a hook, registered by name)
    end_user,
    live_settings,
    live_settled,
    live_stack,
    pytest_runtest_makereport,
    require,
    sandbox,
    shareid,
    shareid_user,
    solaris,
    solaris_subscribed,
    solaris_user,
)

CHROMIUM = Path("/usr/bin/chromium")
# What the machine's own probe uses: without the background-networking flags Chromium keeps
# trying to reach Google's hosts, which this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RESULTS_DIR = Path(__file__).resolve().parents[2] / "test-results"


@pytest.fixture
def chromium(monkeypatch):
    require(
        CHROMIUM.exists(), f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
    )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop on this thread, and Django then refuses every
    # ORM call from it (SynchronousOnlyOperation) although nothing here is a coroutine: the test's
    # queries run synchronously between two browser steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # Under that loop Django hands this thread another database connection (asgiref's
            # Local is per context then); close it here, in the same context, or pytest-django
            # cannot drop the test database at the end ("accessed by other users").
            connections.close_all()


@pytest.fixture
def results_dir() -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    return RESULTS_DIR
