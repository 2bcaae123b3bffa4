import pytest
from django.test.signals import setting_changed

from providers.registry import get_provider


def _forget_providers(*, setting, **kwargs):
    # Provider instances read their settings once; a test that overrides them gets fresh ones.
    if setting.startswith(("VERIFF_", "KYC_", "SIM_")):
        get_provider.cache_clear()


setting_changed.connect(_forget_providers)


@pytest.fixture(autouse=True)
def _empty_cache():
    # The cache holds rate-limit counters and cached figures: each test starts without another
    # test's (a throttle count or a warm figure made the outcome depend on the order of tests).
    from django.core.cache import cache

    cache.clear()


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
    from kyc import services

    return services.customer_create(
        external_ref="CUST-1", first_name="Sarah", last_name="Morgan", email="sarah@example.com", country="GB"
    )


@pytest.fixture
def veriff_without_media(settings):
    """Veriff's API at the HTTP boundary, answering that sessions have no media: for tests of the
    webhook path that must not reach out for the media a decision triggers."""
    import re

    import responses

    base = re.escape(settings.VERIFF_API_URL)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(
            re.compile(base + r"/sessions/[^/]+/attempts"), json={"status": "success", "verifications": []}
        )
        mock.get(
            re.compile(base + r"/sessions/[^/]+/media"),
            json={"status": "success", "images": [], "videos": []},
        )
        yield mock
