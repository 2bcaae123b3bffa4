import pytest
from django.test.signals import setting_changed

from providers.registry import get_provider


def _forget_providers(*, setting, **kwargs):
    # Provider instances read their settings once; a test that overrides them gets fresh ones.
    if setting.startswith(("VERIFF_", "KYC_", "SIM_")):
        get_provider.cache_clear()


setting_changed.connect(_forget_providers)


@pytest.fixture(autouse=True)
def _private_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


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
        # The person record read after a decision (kyc.screening): no PEP / sanctions match.
        mock.get(
            re.compile(base + r"/sessions/[^/]+/person"),
            json={"status": "success", "person": {"pepSanctionMatches": []}},
        )
        yield mock
