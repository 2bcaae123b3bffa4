import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_rejected_budgets():
    """The budgets of rejected deliveries (webhooks/limits.py) live in the cache: each test starts
    with them full."""
    cache.clear()
    yield
    cache.clear()
