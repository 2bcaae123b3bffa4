"""Ordering by provider time, not arrival: whatever order a session's webhooks arrive in, once
all have arrived the session says what the provider's last word says. Every history shape
(resubmissions, each ending, attempts still in progress), many shuffles, through the real view."""

import random
import uuid

import pytest

from providers.veriff import signing
from tests.factories import SessionFactory
from tests.providers_config import veriff_options
from tests.webhooks.veriff_histories import history, last_word

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("veriff_without_media")]

SHAPES = [
    (1, "approved"),
    (1, "declined"),
    (1, "review"),
    (1, "expired"),
    (1, "abandoned"),
    (1, "started"),
    (1, "submitted"),
    (2, "approved"),
    (2, "resubmission_requested"),
    (3, "declined"),
    (2, "started"),
    (2, "submitted"),
    (3, "submitted"),
]
SHUFFLES = 8


@pytest.mark.parametrize(("attempts", "ending"), SHAPES)
def test_any_arrival_order_ends_on_the_providers_last_word(client, settings, attempts, ending):
    rng = random.Random(f"{attempts}-{ending}")
    for _ in range(SHUFFLES):
        session = SessionFactory(provider_session_id=str(uuid.uuid4()))
        facts = history(session.provider_session_id, rng, attempts=attempts, ending=ending)
        deliveries = facts + rng.sample(facts, k=len(facts) // 2)  # some twice
        rng.shuffle(deliveries)
        for fact in deliveries:
            headers = signing.signature_headers(
                fact.body,
                veriff_options(settings).api_key,
                veriff_options(settings).api_secret,
                veriff_options(settings).signature_scheme,
            )
            response = client.post(
                f"/webhooks/veriff/{fact.kind}/",
                data=fact.body,
                content_type="application/json",
                headers=headers,
            )
            assert response.status_code == 200
        session.refresh_from_db()
        order = [f.status for f in deliveries]
        assert session.status == last_word(facts), f"arrival order {order}"
