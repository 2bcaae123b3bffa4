"""Outbound notifications: one event per change of a customer's effective KYC status, delivered
to every endpoint in order per customer, retried with backoff, exactly one success per event."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from kyc.models import VerificationSession
from kyc.services import customers
from notifications import tasks
from notifications.models import Delivery, Event
from notifications.services import delivery_replay, endpoint_create, endpoint_disable

pytestmark = pytest.mark.django_db(transaction=True)


def change_status(customer, status):
    """Give the customer a newest session in `status` and let the derived status follow."""
    VerificationSession.objects.create(customer=customer, provider="veriff", status=status)
    customers.customer_refresh_kyc_status(customer=customer)


def drain(max_rounds=20):
    """What the periodic sweep does, until nothing is due."""
    for _ in range(max_rounds):
        if tasks.deliveries_send_due() == 0:
            return
    raise AssertionError("deliveries still due")


@pytest.fixture
def no_backoff(settings):
    settings.NOTIFICATIONS_RETRY_BASE = 0


def test_a_receiver_that_fails_twice_gets_each_event_once_and_in_order(receiver, customer, no_backoff):
    from tests.factories import CustomerFactory

    r = receiver(500, 503)
    endpoint_create(url=r.url)
    other = CustomerFactory()
    for status in ("started", "resubmission_requested", "approved"):
        change_status(customer, status)
        change_status(other, status)
    drain()

    events = Event.objects.filter(customer=customer).order_by("sequence")
    assert [e.data["kyc_status"] for e in events] == ["in_progress", "action_required", "verified"]
    got = r.succeeded()
    for who in (customer, other):
        mine = [e for e in got if e["data"]["customer"]["id"] == who.pk]
        assert [e["sequence"] for e in mine] == [1, 2, 3]  # in order, each exactly once
        assert len({e["id"] for e in mine}) == 3
    # Nothing overtook a failing event: each request is for the customer's next unsent one.
    done = {customer.pk: 0, other.pk: 0}
    for request in r.requests:
        event = json.loads(request["body"])
        who = event["data"]["customer"]["id"]
        assert event["sequence"] == done[who] + 1
        if request["status"] < 300:
            done[who] += 1
    assert len(r.requests) == 6 + 2
    retried = Delivery.objects.filter(sequence=1, attempts__gt=1)
    assert sorted(a.status_code for d in retried for a in d.attempt_log.all()) == [200, 200, 500, 503]


def test_a_later_event_waits_while_an_earlier_one_is_failing(receiver, customer, settings):
    settings.NOTIFICATIONS_RETRY_BASE = 3600  # the retry is not due within this test
    r = receiver(500)
    endpoint_create(url=r.url)
    change_status(customer, "started")
    change_status(customer, "approved")
    drain()
    assert len(r.requests) == 1
    assert Delivery.objects.get(sequence=2).attempts == 0
    # Its retry comes due: the first succeeds, and the second follows at once.
    Delivery.objects.filter(sequence=1).update(next_attempt_at=timezone.now())
    drain()
    assert [e["sequence"] for e in r.succeeded()] == [1, 2]


def test_retries_back_off_exponentially_and_stop_after_the_window(receiver, customer, settings):
    settings.NOTIFICATIONS_RETRY_BASE = 30
    settings.NOTIFICATIONS_RETRY_MAX = 3600
    settings.NOTIFICATIONS_RETRY_WINDOW = 24 * 3600
    r = receiver(*[500] * 100)
    endpoint_create(url=r.url)
    change_status(customer, "started")
    delivery = Delivery.objects.get()
    gaps = []
    while delivery.state == "pending":
        gaps.append((delivery.next_attempt_at - delivery.last_attempt_at).total_seconds())
        # Time passes: the retry is due, and the window started that much earlier.
        Delivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=timezone.now(),
            window_started_at=delivery.window_started_at - dt.timedelta(seconds=gaps[-1]),
        )
        drain()
        delivery.refresh_from_db()
    assert gaps[:5] == [30, 60, 120, 240, 480] and max(gaps) == 3600
    assert sum(gaps) <= 24 * 3600 and delivery.state == "failed"
    assert delivery.attempts == len(gaps) + 1


def test_a_failed_delivery_holds_later_ones_until_it_is_replayed(receiver, customer, no_backoff):
    r = receiver(500)
    endpoint_create(url=r.url)
    change_status(customer, "started")
    Delivery.objects.update(state="failed", next_attempt_at=None)  # its day is over
    change_status(customer, "approved")
    drain()
    assert len(r.requests) == 1
    delivery_replay(delivery=Delivery.objects.get(sequence=1))
    drain()
    assert [e["sequence"] for e in r.succeeded()] == [1, 2]


def test_every_enabled_endpoint_gets_the_event_and_a_disabled_one_nothing(receiver, customer):
    a, b = receiver(), receiver()
    endpoint_create(url=a.url)
    endpoint_disable(endpoint=endpoint_create(url=b.url))
    change_status(customer, "started")
    assert len(a.succeeded()) == 1 and b.requests == []


def test_no_event_when_the_effective_status_does_not_change(receiver, customer):
    r = receiver()
    endpoint_create(url=r.url)
    change_status(customer, "started")
    change_status(customer, "submitted")  # still in_progress
    assert Event.objects.count() == 1 and len(r.requests) == 1


def test_the_event_carries_no_personal_data(receiver, customer):
    r = receiver()
    endpoint_create(url=r.url)
    change_status(customer, "approved")
    [request] = r.requests
    body = request["body"].decode()
    for personal in (customer.first_name, customer.last_name, customer.email):
        assert personal not in body
    assert request["headers"]["KYC-Event-Type"] == "customer.kyc_status.changed"
    assert request["headers"]["Content-Type"] == "application/json"


def test_an_unreachable_endpoint_is_a_failed_try_not_a_crash(customer, settings, no_backoff):
    endpoint_create(url="http://127.0.0.1:9/nothing-listens-here")
    change_status(customer, "started")
    delivery = Delivery.objects.get()
    assert delivery.state == "pending" and delivery.attempts == 1
    assert delivery.last_error == "connection failed"  # a fixed text, not the socket's message
