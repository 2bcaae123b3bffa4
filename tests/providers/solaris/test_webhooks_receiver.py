"""Our /webhooks/solaris/ receiver, posted to as Solaris posts (providers/solaris/README.md,
"Webhooks"): the seed's signed delivery is taken; a changed byte, another algorithm, a missing
header are forgeries (422: Solaris never re-sends); an unknown subscription is answered 503 so that
Solaris delivers again; the handshake is answered 200 and kept nowhere; duplicates by
Solaris-Webhook-Id are taken once. No call to Solaris is made while a delivery is answered."""

import hashlib
import hmac
import json

import pytest
import responses
from cryptography.fernet import Fernet

from providers.base import PERSON_CHANGED, PERSON_DELETED, PersonUpdate, WebhookRequest
from providers.solaris.models import WebhookSubscription
from tests.providers.solaris.hooks_support import (
    SEED_BODY,
    SEED_SECRET,
    SEED_SIGNATURE,
    SEED_SUBSCRIPTION,
    delivery_headers,
    eager_tasks,  # noqa: F401 (autouse fixture)
    post_delivery,
    solaris,
    subscription_keep,
)
from tests.providers_config import with_options
from webhooks.models import InboundEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_call_to_solaris():
    """Every answer is given without asking Solaris anything: any outgoing call fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield
        assert not mock.calls, [call.request.url for call in mock.calls]


@pytest.fixture
def seed_subscription():
    subscription_keep(SEED_SUBSCRIPTION, SEED_SECRET)


def test_the_seeds_signed_delivery_is_taken_and_kept_without_any_secret(client, seed_subscription):
    headers = delivery_headers(SEED_BODY, SEED_SECRET)
    assert headers["Solaris-Webhook-Signature"] == SEED_SIGNATURE
    response = post_delivery(client, SEED_BODY, headers)
    assert response.status_code == 200, response.content
    event = InboundEvent.objects.get()
    assert event.authenticated and bytes(event.body) == SEED_BODY
    assert event.provider_session_id == "9dfe2f4edaa67138be0c0c1cd3a7d849cidt"
    assert event.dedupe_key == "solaris:7c8f0ad1-0000-4000-8000-000000000001"
    assert event.headers["Solaris-Webhook-Event-Type"] == "IDENTIFICATION"
    assert event.headers["Solaris-Webhook-Subscription-Id"] == SEED_SUBSCRIPTION
    # The secret is nowhere in clear: not with the event, not in the subscriptions table.
    assert SEED_SECRET not in json.dumps(event.headers)
    assert SEED_SECRET not in WebhookSubscription.objects.get().sealed_secret


def _answer(client, body=SEED_BODY, **changes):
    headers = delivery_headers(body, SEED_SECRET, **changes)
    return post_delivery(client, body, headers)


def test_one_byte_changed_is_a_forgery_answered_422_and_kept_as_rejected(client, seed_subscription):
    tampered = SEED_BODY.replace(b'"successful"', b'"successfuL"')
    response = post_delivery(client, tampered, delivery_headers(SEED_BODY, SEED_SECRET))
    assert response.status_code == 422
    event = InboundEvent.objects.get()
    assert event.state == InboundEvent.State.REJECTED and not event.authenticated
    assert event.auth_error.startswith("forged")


@pytest.mark.parametrize("algorithm", ["sha1", "md5"])
def test_another_algorithm_is_a_forgery_even_with_its_right_digest(client, seed_subscription, algorithm):
    digest = hmac.new(SEED_SECRET.encode(), SEED_BODY, getattr(hashlib, algorithm)).hexdigest()
    assert _answer(client, signature=f"{algorithm}={digest}").status_code == 422


@pytest.mark.parametrize("signature", ["", "sha256=", SEED_SIGNATURE[7:], "sha256=" + "0" * 64])
def test_an_empty_bare_or_wrong_signature_is_a_forgery(client, seed_subscription, signature):
    assert _answer(client, signature=signature).status_code == 422


def test_a_missing_signature_or_subscription_header_is_a_forgery(client, seed_subscription):
    headers = delivery_headers(SEED_BODY, SEED_SECRET)
    del headers["Solaris-Webhook-Signature"]
    assert post_delivery(client, SEED_BODY, headers).status_code == 422
    headers = delivery_headers(SEED_BODY, SEED_SECRET)
    del headers["Solaris-Webhook-Subscription-Id"]
    assert post_delivery(client, SEED_BODY, headers).status_code == 422
    for not_an_id in ("\x00", "a b", "x" * 101, "../" + SEED_SUBSCRIPTION):
        assert _answer(client, subscription_id=not_an_id).status_code == 422
    assert not InboundEvent.objects.filter(authenticated=True).exists()


def test_an_unknown_subscription_is_answered_503_so_solaris_delivers_again(client, seed_subscription):
    response = _answer(client, subscription_id="0" * 32)
    assert response.status_code == 503  # never 410: that would cancel the subscription
    event = InboundEvent.objects.get()
    assert event.state == InboundEvent.State.REJECTED
    assert event.auth_error.startswith("unknown_subscription")
    # Once the secret is kept, Solaris's next attempt is taken.
    subscription_keep("0" * 32, SEED_SECRET)
    assert _answer(client, subscription_id="0" * 32, attempt=2).status_code == 200
    assert InboundEvent.objects.filter(authenticated=True).count() == 1


def test_a_secret_no_key_opens_is_ours_to_fix_and_answered_503(client, settings, seed_subscription):
    with_options(settings, "solaris", webhook_secret_keys=[Fernet.generate_key().decode()])
    assert _answer(client).status_code == 503


def test_a_delivery_signed_for_another_event_type_is_a_forgery(client):
    # The headers are not signed: a captured IDENTIFICATION must not pass for a PERSON_DELETED.
    subscription_keep("a" * 32, "identification-secret", event_type="IDENTIFICATION")
    headers = delivery_headers(
        b"{}", "identification-secret", subscription_id="a" * 32, event_type="PERSON_DELETED", entity_id="p"
    )
    assert post_delivery(client, b"{}", headers).status_code == 422
    assert not InboundEvent.objects.filter(authenticated=True).exists()


def test_duplicates_by_solaris_webhook_id_are_taken_once(client, seed_subscription):
    for attempt in (1, 2, 3):
        assert _answer(client, attempt=attempt).status_code == 200
    event = InboundEvent.objects.get()
    assert event.duplicates == 2
    # Another notification (another id) with the same body is another event.
    assert _answer(client, webhook_id="another").status_code == 200
    assert InboundEvent.objects.count() == 2


def test_the_subscription_handshake_is_answered_200_and_kept_nowhere(client):
    response = client.post(
        "/webhooks/solaris/",
        data=b"",
        content_type="application/json",
        headers={"Solaris-Webhook-Event-Type": "WEBHOOK-SUBSCRIPTION"},
    )
    assert response.status_code == 200
    assert not InboundEvent.objects.exists()


def test_an_authentic_delivery_that_can_never_be_processed_is_answered_422(client):
    subscription_keep("b" * 32, "booking-secret", event_type="BOOKING")
    headers = delivery_headers(b"{}", "booking-secret", subscription_id="b" * 32, event_type="BOOKING")
    assert post_delivery(client, b"{}", headers).status_code == 422
    subscription_keep("c" * 32, "idt-secret")
    for body in (b"[not json", b"[]", b'{"status": "successful"}', b'{"id": 42}'):
        headers = delivery_headers(body, "idt-secret", subscription_id="c" * 32, webhook_id=body.hex())
        assert post_delivery(client, body, headers).status_code == 422, body
    # Kept whole, as malformed, for inspection and a replay once we can read it.
    assert set(InboundEvent.objects.values_list("state", flat=True)) == {InboundEvent.State.MALFORMED}


def test_a_person_event_names_its_person_by_the_entity_header(client):
    subscription_keep("d" * 32, "person-secret", event_type="PERSON_DELETED")
    no_entity = delivery_headers(
        b"{}", "person-secret", subscription_id="d" * 32, event_type="PERSON_DELETED"
    )
    assert post_delivery(client, b"{}", no_entity).status_code == 422
    headers = delivery_headers(
        b"{}", "person-secret", subscription_id="d" * 32, event_type="PERSON_DELETED",
        entity_id="dc1a6812a14f6cc338cd084208535bcdcper", webhook_id="w-2",
    )  # fmt: skip
    assert post_delivery(client, b"{}", headers).status_code == 200


# -- what a stored event is read as (in the worker) ----------------------------------------------


def _stored_request(body: bytes, headers: dict[str, str]) -> WebhookRequest:
    # As the worker sees it: only the kept headers, in a plain (case-sensitive) dict.
    kept = {name: headers[name] for name in solaris().kept_webhook_headers if name in headers}
    return WebhookRequest(kind="", headers=kept, body=body)


def test_identification_is_a_hint_with_the_identification_id_and_its_link():
    [update] = solaris().parse_webhook(_stored_request(SEED_BODY, delivery_headers(SEED_BODY, SEED_SECRET)))
    assert update.hint is True
    assert update.provider_session_id == "9dfe2f4edaa67138be0c0c1cd3a7d849cidt"
    assert update.hosted_url == "https://go.test.idnow.de/"
    # The body's status is only a hint: kept as the event's code, it moves nothing by itself.
    assert update.status is None and update.event_code == "successful"
    assert update.dedupe_key == "solaris:7c8f0ad1-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    ("event_type", "kind"), [("PERSON_CHANGED", PERSON_CHANGED), ("PERSON_DELETED", PERSON_DELETED)]
)
def test_person_events_are_person_updates_of_the_entity(event_type, kind):
    headers = delivery_headers(b"{}", "s", event_type=event_type, entity_id="abc123cper", webhook_id="w-9")
    [update] = solaris().parse_webhook(_stored_request(b"{}", headers))
    assert update == PersonUpdate(
        provider_person_id="abc123cper", kind=kind, dedupe_key="solaris:w-9", raw={"event_type": event_type}
    )


def test_headers_are_read_whatever_their_case():
    headers = {k.lower(): v for k, v in delivery_headers(SEED_BODY, SEED_SECRET).items()}
    [update] = solaris().parse_webhook(WebhookRequest(kind="", headers=headers, body=SEED_BODY))
    assert update.provider_session_id == "9dfe2f4edaa67138be0c0c1cd3a7d849cidt"
