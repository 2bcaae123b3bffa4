"""Our answers against the Solaris sandbox's delivery worker (providers/solaris/README.md, "Our
answers decide what Solaris does"): a notification we take is delivered; a forgery answered 422
is rejected and never re-sent; a subscription we do not know is answered 503, retried, and taken
once its secret is kept; a notification sent twice is taken once; we never answer 410, so no
subscription of ours is ever cancelled by an answer of ours."""

import io

import pytest
from django.core.management import call_command

from providers.solaris.models import WebhookSubscription
from tests.providers.solaris.hooks_support import (
    eager_tasks,  # noqa: F401 (autouse fixture)
    network_fixture,  # noqa: F401 (the `network` fixture)
    solaris,
    subscription_keep,
)
from webhooks.models import InboundEvent


@pytest.fixture
def synced(network):
    call_command("solaris_webhooks", "sync", stdout=io.StringIO())
    return {row.event_type: row.subscription_id for row in WebhookSubscription.objects.all()}


def _person_changed(network, person: str) -> dict:
    assert network.control("POST", f"/persons/{person}/changed").status_code == 200
    [delivery] = network.deliveries(event_type="PERSON_CHANGED", entity_id=person)
    return delivery


def _still_subscribed(network, subscription_id: str) -> bool:
    return network.api("GET", f"/webhooks/{subscription_id}").status_code == 200


def test_a_notification_we_take_is_delivered_stored_and_processed(network, synced):
    person = network.person()
    delivery = _person_changed(network, person)
    assert delivery["state"] == "delivered" and delivery["attempts"] == 1
    event = InboundEvent.objects.get(authenticated=True)
    assert event.dedupe_key == f"solaris:{delivery['webhook_id']}"
    assert event.headers["Solaris-Entity-Id"] == person
    assert event.state == InboundEvent.State.PROCESSED  # a person we never made a session for


def test_a_forgery_answered_422_is_rejected_and_never_sent_again(network, synced):
    subscription = synced["PERSON_CHANGED"]
    WebhookSubscription.objects.filter(subscription_id=subscription).update(
        sealed_secret=solaris().seal.seal("not the secret Solaris signs with")
    )
    delivery = _person_changed(network, network.person())
    assert delivery["state"] == "rejected" and delivery["answers"][0]["status_code"] == 422
    network.send_due()
    [delivery] = network.deliveries(event_type="PERSON_CHANGED")
    assert delivery["attempts"] == 1  # never re-sent
    assert not InboundEvent.objects.filter(authenticated=True).exists()
    assert _still_subscribed(network, subscription)  # 422 rejects the notification, not the subscription


def test_an_unknown_subscription_is_retried_and_taken_once_its_secret_is_kept(network, synced):
    subscription = synced["PERSON_CHANGED"]
    secret = next(s["secret"] for s in network.sandbox_subscriptions() if s["id"] == subscription)
    WebhookSubscription.objects.filter(subscription_id=subscription).delete()  # not (yet) kept here
    person = network.person()
    delivery = _person_changed(network, person)
    assert delivery["state"] == "pending" and delivery["answers"][0]["status_code"] == 503
    assert InboundEvent.objects.get().auth_error.startswith("unknown_subscription")
    network.send_due()  # still unknown: retried again, the counter grows
    subscription_keep(subscription, secret, event_type="PERSON_CHANGED")
    network.send_due()
    [delivery] = network.deliveries(event_type="PERSON_CHANGED")
    assert delivery["state"] == "delivered" and delivery["attempts"] == 3
    assert [a["status_code"] for a in delivery["answers"]] == [503, 503, 200]
    taken = InboundEvent.objects.get(authenticated=True)
    assert taken.headers["Solaris-Webhook-Attempt"] == "3"
    assert _still_subscribed(network, subscription)


def test_a_notification_sent_again_after_a_lost_answer_is_taken_once(network, synced):
    network.lose_answers = True
    delivery = _person_changed(network, network.person())
    assert delivery["state"] == "pending"  # Solaris saw a timeout
    network.lose_answers = False
    network.send_due()
    [delivery] = network.deliveries(event_type="PERSON_CHANGED")
    assert delivery["state"] == "delivered" and delivery["attempts"] == 2
    event = InboundEvent.objects.get(authenticated=True)
    assert event.duplicates == 1 and event.state == InboundEvent.State.PROCESSED


def test_an_identification_notification_is_a_hint_that_waits_for_its_session(network, synced):
    person = network.person()
    with network.capture(execute=True):
        created = network.api("POST", f"/persons/{person}/identifications", {"method": "idnow"})
    identification = created.json()["id"]
    with network.capture(execute=True):
        requested = network.api("PATCH", f"/persons/{person}/identifications/{identification}/request", {})
    assert requested.status_code == 201, requested.content
    deliveries = network.deliveries(event_type="IDENTIFICATION")
    assert deliveries and {d["state"] for d in deliveries} == {"delivered"}
    events = InboundEvent.objects.filter(authenticated=True, provider_session_id=identification)
    assert events.count() == len(deliveries)
    # No session of ours has this identification: the hint waits for it (and is read then).
    assert {e.state for e in events} == {InboundEvent.State.WAITING}


def test_no_answer_of_ours_is_410(network, synced):
    test_a_forgery_answered_422_is_rejected_and_never_sent_again(network, synced)
    assert all(status != 410 for _event, status in network.answers)
    assert {s["id"] for s in network.sandbox_subscriptions()} == set(synced.values())
