"""Migration 0002 on endpoints and deliveries made before it: old secrets keep their HMAC key in
the Standard Webhooks form, endpoints find the API key that registered them, and what receivers
answered (bodies, socket errors) is emptied."""

import base64

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("notifications", "0001_initial")]
AFTER = [("notifications", "0002_endpoint_owner_secret_rotation")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_old_rows_are_brought_to_the_new_rules(customer):
    from api.services import api_key_create

    key, _ = api_key_create(name="backend", scopes=["write"])
    apps = migrate(BEFORE)
    Endpoint = apps.get_model("notifications", "Endpoint")
    Event = apps.get_model("notifications", "Event")
    Delivery = apps.get_model("notifications", "Delivery")
    DeliveryAttempt = apps.get_model("notifications", "DeliveryAttempt")
    old_secret = "whsec_Zr-3_kQx9yV8m2Lw0pT1aBcDeFgHiJkLmNoPqRsTuVw"
    by_key = Endpoint.objects.create(
        url="https://a.example", secret=old_secret, created_by_label=key.actor_label
    )
    by_staff = Endpoint.objects.create(
        url="https://b.example", secret=old_secret, created_by_label="user:boss"
    )
    event = Event.objects.create(customer_id=customer.pk, sequence=1, data={})
    delivery = Delivery.objects.create(
        event=event,
        endpoint=by_key,
        customer_id=customer.pk,
        sequence=1,
        last_error="ConnectionError: HTTPConnectionPool(host='10.0.0.8', port=5432)",
    )
    DeliveryAttempt.objects.create(delivery=delivery, status_code=200, response_body="<html>internal</html>")
    DeliveryAttempt.objects.create(delivery=delivery, status_code=500, error="HTTP 500")

    migrate(AFTER)
    from notifications.models import Delivery, DeliveryAttempt, Endpoint

    for endpoint in Endpoint.objects.all():
        assert base64.b64decode(endpoint.secret.removeprefix("whsec_")) == old_secret.encode()
    assert Endpoint.objects.get(pk=by_key.pk).api_key_id == key.pk
    assert Endpoint.objects.get(pk=by_staff.pk).api_key_id is None
    assert Delivery.objects.get().last_error == "request failed"
    assert sorted(DeliveryAttempt.objects.values_list("response_body", "error")) == [
        ("", ""),
        ("", "HTTP 500"),
    ]
