"""Outbound notifications through the real thing: the end user's outcome arrives as the sandbox's
webhook, the worker applies it, and the worker delivers the status change to the business's
receiver (a real HTTP server here), retrying through Celery (acks late) when it fails."""

import json

import pytest
from standardwebhooks import Webhook

from kyc.services import customers
from notifications.models import Delivery
from notifications.services import endpoint_create
from tests.notifications.conftest import Receiver
from tests.notifications.test_signing import ROOT, documented_recipe
from tests.support.servers import wait_until
from tests.support.veriff import session_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


@pytest.fixture
def receiver():
    r = Receiver([500, 502])  # fails twice, then succeeds
    yield r
    r.close()


def test_a_receiver_that_fails_twice_gets_each_status_change_once_in_order(receiver, end_user, sandbox):
    endpoint = endpoint_create(url=receiver.url)
    customer = customers.customer_create(external_ref="IT-NOTIFY-1", first_name="Kai", country="EE")
    session = end_user.start(customer.pk)  # unverified → in_progress
    hosted_url = end_user.wait_for_hosted_url(session)
    end_user.choose(hosted_url, "approve")  # → verified, sent by the sandbox as a webhook
    session_in(session.pk, "approved")

    def all_delivered():
        return Delivery.objects.filter(state="succeeded").count() == 2

    wait_until(all_delivered, timeout=60, message="both events delivered")
    got = receiver.succeeded()
    assert [(e["sequence"], e["data"]["kyc_status"]) for e in got] == [(1, "in_progress"), (2, "verified")]
    assert [r["status"] for r in receiver.requests] == [500, 502, 200, 200]
    # The failures were the first event, retried; the second was sent only after it succeeded.
    assert [json.loads(r["body"])["sequence"] for r in receiver.requests] == [1, 1, 1, 2]
    verify = documented_recipe(ROOT / "docs/api.md")
    for request in receiver.requests:
        assert verify(endpoint.secret, request["headers"], request["body"])
        Webhook(endpoint.secret).verify(request["body"], request["headers"])  # Standard Webhooks
    first = Delivery.objects.get(sequence=1)
    assert first.attempts == 3 and [a.status_code for a in first.attempt_log.all()] == [500, 502, 200]
