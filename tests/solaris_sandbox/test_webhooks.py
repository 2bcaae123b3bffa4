"""Webhook subscriptions (POST/GET/DELETE /v1/webhooks) with the handshake, and notifications
signed so that the seed's recipe verifies them."""

import hashlib
import hmac
import json

import pytest
import requests

from providers.solaris.sandbox import signing

pytestmark = pytest.mark.django_db

# The docs' example secret and an IDENTIFICATION body, with the signature computed independently
# (providers/solaris/README.md, "Signatures").
VECTOR_SECRET = "f82c389fb187274227186b5a58781978"
VECTOR_BODY = (
    b'{"id":"9dfe2f4edaa67138be0c0c1cd3a7d849cidt","reference":"TST-ELCCJ","url":"https://go.test.idnow.de/",'
    b'"status":"successful","completed_at":"2021-09-14T18:18:28.000Z","method":"idnow"}'
)
VECTOR_SIGNATURE = "sha256=732571b8050cf30ee6c795894e8565f221a3985efa9cd1caf396fe86b24fc156"
EMPTY_SIGNATURE = "sha256=a54bec67017d55cb479cd1b23f80e3c5396fb4e67c4e062bcd9d9566235ce431"


def seed_recipe_accepts(header: str, secret: str, body: bytes) -> bool:
    """The seed's Ruby check in Python: the header names the digest, the HMAC of the raw body."""
    digest_algorithm, signature = header.split("=")
    return hmac.new(secret.encode(), body, getattr(hashlib, digest_algorithm)).hexdigest() == signature


def test_the_signature_matches_the_worked_examples():
    assert signing.signature(VECTOR_BODY, VECTOR_SECRET) == VECTOR_SIGNATURE
    assert signing.signature(b"{}", VECTOR_SECRET) == EMPTY_SIGNATURE


def test_creating_a_subscription_sends_the_handshake_first(solaris, receiver):
    subscription = solaris.subscribe("IDENTIFICATION")

    (handshake,) = receiver.requests
    assert handshake.headers["Solaris-Webhook-Event-Type"] == "WEBHOOK-SUBSCRIPTION"
    assert not handshake.body
    assert "Solaris-Webhook-Signature" not in handshake.headers
    assert len(subscription["id"]) == 32 and int(subscription["id"], 16) >= 0
    assert len(subscription["secret"]) == 32
    assert subscription["event_type"] == "IDENTIFICATION"
    assert subscription["url"] == receiver.url


@pytest.mark.parametrize("answer", [500, 404, 422, requests.ConnectionError("refused")])
def test_a_handshake_without_a_2xx_refuses_the_subscription(solaris, receiver, answer):
    if isinstance(answer, Exception):
        receiver.answer(error=answer)
    else:
        receiver.answer(answer)

    response = solaris.post("/webhooks", {"event_type": "IDENTIFICATION", "url": receiver.url})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "webhook_subscription_failed"
    assert solaris.get("/webhooks").json() == []


def test_one_subscription_per_event_type_and_url(solaris, receiver):
    solaris.subscribe("IDENTIFICATION")

    duplicate = solaris.post("/webhooks", {"event_type": "IDENTIFICATION", "url": receiver.url})

    assert duplicate.status_code == 400
    assert "already exists" in duplicate.json()["errors"][0]["detail"]
    solaris.subscribe("PERSON_CHANGED")  # another event type to the same URL is fine


@pytest.mark.parametrize(
    "data",
    [
        {"event_type": "NOPE", "url": "https://example.com/"},
        {"event_type": "IDENTIFICATION", "url": "ftp://x"},
    ],
)
def test_a_subscription_needs_a_known_event_type_and_an_http_url(solaris, receiver, data):
    response = solaris.post("/webhooks", data)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "validation_error"
    assert receiver.requests == []


def test_subscriptions_are_listed_read_and_deleted(solaris, receiver):
    first = solaris.subscribe("IDENTIFICATION")
    second = solaris.subscribe("PERSON_DELETED")

    assert solaris.get("/webhooks").json() == [first, second]
    assert solaris.get("/webhooks?page[number]=2&page[size]=1").json() == [second]
    assert solaris.get(f"/webhooks/{first['id']}").json() == first
    assert solaris.delete(f"/webhooks/{first['id']}").status_code == 204
    assert solaris.get("/webhooks").json() == [second]
    assert solaris.get(f"/webhooks/{first['id']}").status_code == 404
    assert (
        solaris.get("/webhooks?page[size]=0").json()["errors"][0]["code"]
        == "build_pagination_headers_failure"
    )


def test_a_deleted_subscription_receives_nothing_more(solaris, receiver):
    subscription = solaris.subscribe("PERSON_CHANGED")
    person = solaris.create_person()
    solaris.delete(f"/webhooks/{subscription['id']}")

    solaris.control("POST", f"/persons/{person['id']}/changed")

    assert receiver.notifications() == []


def test_a_notification_carries_solaris_s_headers_and_verifies_by_the_seed_s_recipe(solaris, receiver):
    subscription = solaris.subscribe("IDENTIFICATION")
    person = solaris.create_person()

    identification = solaris.create_identification(person["id"], reference="CUST-7")

    (notification,) = receiver.notifications()
    headers = notification.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["Solaris-Webhook-Event-Type"] == "IDENTIFICATION"
    assert headers["Solaris-Webhook-Subscription-Id"] == subscription["id"]
    assert headers["Solaris-Entity-Id"] == identification["id"]
    assert headers["Solaris-Webhook-Attempt"] == "1"
    assert len(headers["Solaris-Webhook-Id"]) == 36
    assert headers["Solaris-Webhook-Signature"].startswith("sha256=")
    assert seed_recipe_accepts(
        headers["Solaris-Webhook-Signature"], subscription["secret"], notification.body
    )
    assert not seed_recipe_accepts(
        headers["Solaris-Webhook-Signature"], subscription["secret"], notification.body + b" "
    )
    body = json.loads(notification.body)
    assert body == {
        "id": identification["id"],
        "reference": "CUST-7",
        "url": None,
        "status": "created",
        "completed_at": None,
        "method": "idnow",
        "person_id": person["id"],
    }


def test_each_subscription_gets_its_own_signature(solaris, receiver):
    first = solaris.subscribe("PERSON_CHANGED")
    second = solaris.subscribe("PERSON_CHANGED", url="http://127.0.0.1:8000/webhooks/solaris/?second")
    receiver.mock.upsert("POST", second["url"], body=b"", status=200)
    person = solaris.create_person()

    solaris.control("POST", f"/persons/{person['id']}/changed")

    by_subscription = {r.headers["Solaris-Webhook-Subscription-Id"]: r for r in receiver.notifications()}
    assert by_subscription.keys() == {first["id"], second["id"]}
    for subscription in (first, second):
        request = by_subscription[subscription["id"]]
        assert seed_recipe_accepts(
            request.headers["Solaris-Webhook-Signature"], subscription["secret"], request.body
        )
    assert first["secret"] != second["secret"]
