"""Integration tests: the app served by gunicorn, a real Celery worker, the poller process
(`manage.py poll_sessions`), PostgreSQL, the broker and
the Veriff sandbox reached over HTTP. Run with `make test-integration`; skipped (never in CI) when
PostgreSQL or the broker is not there. The fixtures live in tests/support/fixtures.py.
"""

from tests.support.fixtures import (  # noqa: F401  (fixtures and a hook, registered by name)
    end_user,
    live_settings,
    live_settled,
    live_stack,
    pytest_runtest_makereport,
    sandbox,
    shareid,
    shareid_user,
    solaris,
    solaris_subscribed,
    solaris_user,
)
