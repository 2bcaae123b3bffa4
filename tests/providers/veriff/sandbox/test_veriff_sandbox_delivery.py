"""Webhook delivery: failures are logged, retried hourly for 7 days (scaled), sent in order."""

import pytest
import requests
from celery.exceptions import Retry

from providers.veriff.sandbox import delivery
from providers.veriff.sandbox.models import WebhookDelivery
from providers.veriff.sandbox.tasks import deliver_webhook


@pytest.fixture
def session(api):
    return api.create_session(vendorData="customer-9")


@pytest.mark.django_db(transaction=True)
def test_a_refused_delivery_is_logged_and_not_retried_in_process(control, session, webhooks):
    webhooks.answer(500)

    response = control.decide(session["id"], status="approved")

    assert response.status_code == 200  # the sandbox's decision stands; only the delivery failed
    log = control.log(session["id"])
    assert len(log) == 3
    for row in log:
        assert row["attempts"] == 1
        assert row["lastStatusCode"] == 500
        assert row["lastError"].startswith("HTTP 500")
        assert row["deliveredAt"] is None
    assert len(webhooks.requests) == 3


@pytest.mark.django_db(transaction=True)
def test_a_network_error_is_logged(control, session, webhooks):
    webhooks.mock.reset()
    webhooks.mock.add("POST", webhooks.decision_url, body=requests.ConnectTimeout("timed out"))

    control.expire(session["id"])
    (row,) = control.log(session["id"])

    assert row["attempts"] == 1
    assert row["lastStatusCode"] is None
    assert row["lastError"] == "ConnectTimeout: timed out"
    assert row["deliveredAt"] is None


@pytest.mark.django_db(transaction=True)
def test_redelivery_after_a_failure_delivers(control, session, webhooks):
    webhooks.answer(503)
    control.expire(session["id"])
    (failed,) = control.log(session["id"])
    webhooks.answer(200)

    row = control.redeliver(failed["id"]).json()["delivery"]

    assert row["attempts"] == 2 and row["lastStatusCode"] == 200 and row["deliveredAt"]
    assert row["lastError"] == ""


@pytest.mark.django_db
def test_a_worker_sends_earlier_deliveries_of_the_session_first(api, control, session, webhooks):
    # In a non-transactional test nothing is sent on commit: the three deliveries wait, as they
    # would in a broker queue, and the worker happens to pick up the decision first.
    control.decide(session["id"], status="approved")
    decision = WebhookDelivery.objects.get(kind="decision")
    assert WebhookDelivery.objects.filter(attempts=0).count() == 3

    deliver_webhook.apply(args=[decision.id])

    assert webhooks.codes() == [7001, 7002, 9001]
    assert not WebhookDelivery.objects.filter(delivered_at=None).exists()


@pytest.mark.django_db
def test_a_delivered_webhook_is_not_sent_twice(control, session, webhooks):
    control.expire(session["id"])
    (row,) = WebhookDelivery.objects.all()

    deliver_webhook.apply(args=[row.id])
    deliver_webhook.apply(args=[row.id])

    assert webhooks.codes() == [9104]


@pytest.mark.django_db
def test_a_worker_retries_a_failed_delivery(control, session, webhooks):
    webhooks.answer(500)
    control.expire(session["id"])
    (row,) = WebhookDelivery.objects.all()

    # Called outside eager mode, as a worker runs it: the task asks Celery for a retry.
    with pytest.raises(Retry):
        deliver_webhook(row.id)

    row.refresh_from_db()
    assert row.attempts == 1 and row.gave_up_at is None


@pytest.mark.django_db
def test_a_worker_gives_up_after_seven_days_of_hourly_retries(control, session, webhooks):
    webhooks.answer(500)
    control.expire(session["id"])
    (row,) = WebhookDelivery.objects.all()

    deliver_webhook.push_request(retries=delivery.MAX_RETRIES, is_eager=False)
    try:
        deliver_webhook.run(row.id)
    finally:
        deliver_webhook.pop_request()

    row.refresh_from_db()
    assert row.gave_up_at is not None and row.delivered_at is None


def test_retries_are_hourly_for_seven_days_scaled_by_sim_time_scale(sandbox_settings):
    assert delivery.MAX_RETRIES == 7 * 24
    assert delivery.retry_countdown() == 3600
    sandbox_settings.SIM_TIME_SCALE = 0.001
    assert delivery.retry_countdown() == pytest.approx(3.6)
