"""The harness itself: the served app answers and reaches its database, broker and storage."""

import pytest
import requests

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_served_app_is_ready_with_database_and_broker(live_stack):
    response = requests.get(f"{live_stack.base_url}/readyz", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "storage": "ok"}
