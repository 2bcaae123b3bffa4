"""Deliveries are signed in the Standard Webhooks format (`webhook-id`, `webhook-timestamp`,
`webhook-signature: v1,<base64>`, `whsec_` base64 secrets): the `standardwebhooks` library verifies
them, and so does the recipe we document (api/docs/description.md, shown in /api/docs/, and
docs/api.md), which the test runs itself."""

import base64
import json
import re
import time
from pathlib import Path

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from kyc.models import VerificationSession
from kyc.services import customers
from notifications import signing
from notifications.services import endpoint_create

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def documented_recipe(path: Path):
    text = path.read_text()
    code = re.search(r"```python\n(.*?def verify_kyc_signature.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # the documentation's own code
    return namespace["verify_kyc_signature"]


def a_delivery(receiver, customer):
    r = receiver()
    endpoint = endpoint_create(url=r.url)
    VerificationSession.objects.create(customer=customer, provider="veriff")
    customers.customer_refresh_kyc_status(customer=customer)
    [request] = r.requests
    return endpoint, request


def test_a_delivery_verifies_with_the_standardwebhooks_library(receiver, customer):
    endpoint, request = a_delivery(receiver, customer)
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", endpoint.secret)
    assert len(base64.b64decode(endpoint.secret[6:])) == 32
    event = Webhook(endpoint.secret).verify(request["body"], request["headers"])
    assert event["data"]["kyc_status"] == "in_progress"
    assert request["headers"]["webhook-id"] == event["id"]
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}=", request["headers"]["webhook-signature"])
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(request["body"] + b" ", request["headers"])
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.secret_new()).verify(request["body"], request["headers"])


@pytest.mark.parametrize("doc", ["api/docs/description.md", "docs/api.md"])
def test_a_delivery_verifies_with_the_documented_recipe(receiver, customer, doc):
    verify = documented_recipe(ROOT / doc)
    endpoint, request = a_delivery(receiver, customer)
    headers = request["headers"]
    assert verify(endpoint.secret, headers, request["body"]) is True
    # Any change to the body, the id, the timestamp or the secret breaks it.
    assert verify(endpoint.secret, headers, request["body"] + b" ") is False
    assert verify(signing.secret_new(), headers, request["body"]) is False
    assert verify(endpoint.secret, {**headers, "webhook-id": "other"}, request["body"]) is False
    shifted = {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)}
    assert verify(endpoint.secret, shifted, request["body"]) is False
    assert json.loads(request["body"])["data"]["kyc_status"] == "in_progress"


def test_the_recipe_refuses_an_old_timestamp():
    verify = documented_recipe(ROOT / "api/docs/description.md")
    secret, body = signing.secret_new(), b'{"id": "x"}'
    old = int(time.time()) - 3600
    assert (
        verify(secret, signing.headers(msg_id="x", secrets=[secret], timestamp=old, body=body), body) is False
    )
    now = int(time.time())
    assert (
        verify(secret, signing.headers(msg_id="x", secrets=[secret], timestamp=now, body=body), body) is True
    )


def test_a_secret_of_the_old_format_signs_with_the_same_key_after_migration():
    """Secrets made before the Standard Webhooks format (`whsec_` + URL-safe text) are rewritten by
    migration 0002 to `whsec_` + base64 of that text: the HMAC key stays the old secret's bytes."""
    from importlib import import_module

    migration = import_module("notifications.migrations.0002_endpoint_owner_secret_rotation")
    old = "whsec_Zr-3_kQx9yV8m2Lw0pT1aBcDeFgHiJkLmNoPqRsTuVw"
    converted = migration.standard_secret(old)
    assert converted.startswith("whsec_") and base64.b64decode(converted[6:]) == old.encode()
    assert migration.standard_secret(converted) == converted  # already converted: left alone
