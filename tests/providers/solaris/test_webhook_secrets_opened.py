"""A subscription's secret is opened once per process for a while, not read and unsealed for every
delivery (providers/solaris/subscriptions.py): what `sync` or `delete` removes here is refused at
once all the same."""

import io
import uuid

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from providers.solaris.models import WebhookSubscription
from tests.providers.solaris.hooks_support import (
    SEED_BODY,
    SEED_SECRET,
    SEED_SUBSCRIPTION,
    delivery_headers,
    eager_tasks,  # noqa: F401 (autouse fixture)
    network_fixture,  # noqa: F401 (the `network` fixture)
    post_delivery,
    solaris,
    subscription_keep,
)

pytestmark = pytest.mark.django_db


def _deliver(client, secret: str, subscription_id: str = SEED_SUBSCRIPTION):
    headers = delivery_headers(
        SEED_BODY, secret, subscription_id=subscription_id, webhook_id=str(uuid.uuid4())
    )
    return post_delivery(client, SEED_BODY, headers)


def test_the_secret_is_read_once_for_many_deliveries(client):
    subscription_keep(SEED_SUBSCRIPTION, SEED_SECRET)
    with CaptureQueriesContext(connection) as queries:
        answers = [_deliver(client, SEED_SECRET).status_code for _ in range(3)]
    assert answers == [200, 200, 200]
    reads = [q["sql"] for q in queries if WebhookSubscription._meta.db_table in q["sql"]]
    assert len(reads) == 1, reads


def test_a_subscription_deleted_here_is_refused_at_once(client, network):
    call_command("solaris_webhooks", "sync", stdout=io.StringIO())
    row = WebhookSubscription.objects.get(event_type="IDENTIFICATION")
    secret = solaris().seal.open(row.sealed_secret)
    assert _deliver(client, secret, row.subscription_id).status_code == 200
    call_command("solaris_webhooks", "delete", row.subscription_id, stdout=io.StringIO())
    # Unknown now: answered so that Solaris would deliver it again (503), not taken.
    assert _deliver(client, secret, row.subscription_id).status_code == 503
