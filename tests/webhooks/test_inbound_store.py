"""The inbound store called inside a caller's transaction (a management command, a replay tool):
a duplicate must not break that transaction. Requests run in autocommit and are covered through
the real view in test_veriff_webhooks.py."""

import pytest
from django.db import transaction

from providers.registry import get_provider
from tests.factories import SessionFactory
from tests.providers_config import veriff_signature_headers
from tests.webhooks.test_veriff_webhooks import decision_body
from webhooks.models import InboundEvent
from webhooks.services import inbound_event_receive

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("veriff_without_media")]


def receive(body: bytes, settings):
    headers = veriff_signature_headers(settings, body)
    return inbound_event_receive(
        provider=get_provider("veriff"), kind="decision", headers=headers, body=body, remote_addr=None
    )


def test_a_duplicate_inside_a_transaction_is_counted_and_leaves_the_transaction_usable(settings):
    session = SessionFactory()
    body = decision_body(session.provider_session_id)
    with transaction.atomic():
        first = receive(body, settings)
        second = receive(body, settings)
        # The second INSERT found the first and inserted nothing: the transaction still answers.
        assert InboundEvent.objects.filter(pk=first.event_id).exists()
    assert (first.message, second.message) == ("stored", "duplicate")
    assert InboundEvent.objects.get().duplicates == 1
