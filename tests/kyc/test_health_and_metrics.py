"""/healthz, /readyz (database, broker, storage) and /metrics (counters from the database)."""

import json

import pytest
from django.contrib.auth.models import User
from prometheus_client.parser import text_string_to_metric_families

from kyc import health
from providers.veriff import signing
from tests.factories import SessionFactory
from tests.providers_config import veriff_options
from webhooks.models import InboundEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("veriff_without_media")]


def test_healthz_answers_without_touching_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_checks_database_broker_and_storage(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "storage": "ok"}


def test_readyz_is_503_when_the_storage_cannot_be_written(client, settings, tmp_path):
    not_a_directory = tmp_path / "volume-not-mounted"
    not_a_directory.write_bytes(b"")
    settings.MEDIA_ROOT = str(not_a_directory / "media")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "unavailable"


def test_readyz_is_503_when_the_broker_is_unreachable(client, settings, monkeypatch):
    def unreachable():
        raise ConnectionRefusedError

    monkeypatch.setattr(health, "CHECKS", (("database", health._database), ("broker", unreachable)))
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["checks"]["broker"] == "unavailable"


def scrape(client, **headers):
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def deliver(client, settings, body: bytes, secret=None):
    headers = {
        "X-AUTH-CLIENT": veriff_options(settings).api_key,
        "X-HMAC-SIGNATURE": signing.signature(body, secret or veriff_options(settings).api_secret, "hmac"),
    }
    return client.post(
        "/webhooks/veriff/events/", data=body, content_type="application/json", headers=headers
    )


def test_metrics_count_webhooks_received_rejected_processed_and_duplicates(client, settings):
    settings.KYC_METRICS_TOKEN = "scrape-me"
    session = SessionFactory()
    started = json.dumps({"id": session.provider_session_id, "code": 7001, "action": "started"}).encode()
    deliver(client, settings, started)
    deliver(client, settings, started)  # duplicate
    deliver(client, settings, started, secret="forged")
    deliver(client, settings, b"{broken")
    samples = scrape(client, Authorization="Bearer scrape-me")

    assert samples[("kyc_webhooks_received_total", (("kind", "events"), ("provider", "veriff")))] == 4
    assert (
        samples[("kyc_webhooks_rejected_total", (("provider", "veriff"), ("reason", "unauthenticated")))] == 1
    )
    assert samples[("kyc_webhooks_rejected_total", (("provider", "veriff"), ("reason", "malformed")))] == 1
    assert samples[("kyc_webhooks_processed_total", (("provider", "veriff"),))] == 1
    assert samples[("kyc_webhooks_duplicates_total", (("provider", "veriff"),))] == 1
    assert samples[("kyc_task_attempts_total", (("work", "inbound_event"),))] == 1
    assert samples[("kyc_task_retries_total", (("work", "inbound_event"),))] == 0


def test_metrics_show_queue_age_and_parked_work(client, settings):
    from django.utils import timezone

    settings.KYC_METRICS_TOKEN = "scrape-me"
    event = InboundEvent.objects.create(
        provider="veriff", kind="events", body=b"{}", authenticated=True, dedupe_key="k-1"
    )
    InboundEvent.objects.filter(pk=event.pk).update(
        received_at=timezone.now() - timezone.timedelta(seconds=120)
    )
    InboundEvent.objects.create(
        provider="veriff", kind="events", body=b"{}", authenticated=True, dedupe_key="k-2", state="failed"
    )
    samples = scrape(client, Authorization="Bearer scrape-me")
    assert samples[("kyc_webhooks_queue_age_seconds", ())] >= 120
    assert samples[("kyc_work_parked", (("work", "inbound_event"),))] == 1
    assert samples[("kyc_webhooks_backlog", (("state", "received"),))] == 1


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Bearer "])
def test_metrics_refuse_anyone_without_the_token(client, settings, authorization):
    settings.KYC_METRICS_TOKEN = "scrape-me"
    headers = {"Authorization": authorization} if authorization else {}
    assert client.get("/metrics", headers=headers).status_code == 401


def test_metrics_with_no_token_configured_refuse_an_empty_bearer(client, settings):
    settings.KYC_METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


def test_metrics_are_open_to_logged_in_staff_only(client):
    user = User.objects.create_user("someone", password="pw-123-long-enough")
    client.force_login(user)
    assert client.get("/metrics").status_code == 401
    user.is_staff = True
    user.save()
    assert client.get("/metrics").status_code == 200
