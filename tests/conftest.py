import os

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.providers_config import veriff_options

# Property-based tests (Hypothesis) run a fixed budget of examples, the same ones on every run
# (derandomized: a CI failure replays locally), with no time limit per example (a shared CI machine
# is slow at times). HYPOTHESIS_PROFILE=explore runs many more, freshly random, to look for bugs.
hypothesis_settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
hypothesis_settings.register_profile(
    "explore",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _empty_cache():
    # The cache holds rate-limit counters and cached figures: each test starts without another
    # test's (a throttle count or a warm figure made the outcome depend on the order of tests).
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _solaris_secrets_unopened():
    # Solaris's webhook secrets are kept opened per process (providers/solaris/subscriptions.py):
    # a test's subscriptions are not the next one's, though their ids may be the same.
    from providers.solaris.subscriptions import opened_secrets_forget

    opened_secrets_forget()


@pytest.fixture(autouse=True)
def _private_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _notifications_to_this_machine(settings):
    # Tests deliver notifications to receivers on 127.0.0.1: allowed here through the operator's
    # allow-list, as a deployment would, not by a weaker default (tests/notifications/test_egress.py
    # checks the default).
    settings.NOTIFICATIONS_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def customer(db):
    from kyc.services import customers

    return customers.customer_create(
        external_ref="CUST-1", first_name="Sarah", last_name="Morgan", email="sarah@example.com", country="GB"
    )


@pytest.fixture
def veriff_without_media(settings):
    """Veriff's API at the HTTP boundary, answering that sessions have no media: for tests of the
    webhook path that must not reach out for the media a decision triggers."""
    import re

    import responses

    base = re.escape(veriff_options(settings).api_url)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(
            re.compile(base + r"/sessions/[^/]+/attempts"), json={"status": "success", "verifications": []}
        )
        mock.get(
            re.compile(base + r"/sessions/[^/]+/media"),
            json={"status": "success", "images": [], "videos": []},
        )
        # The person record read after a decision (kyc.services.screening): no PEP / sanctions match.
        mock.get(
            re.compile(base + r"/sessions/[^/]+/person"),
            json={"status": "success", "person": {"pepSanctionMatches": []}},
        )
        yield mock
