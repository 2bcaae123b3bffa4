"""Delivery semantics of the inbound store: nothing accepted is lost, nothing is applied twice,
a failure mid-way leaves nothing half-applied, and failed work waits for a human."""

import json

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper

from kyc.models import ProviderDecision
from providers.veriff import signing
from tests.factories import SessionFactory
from tests.providers_config import veriff_options
from webhooks import processing
from webhooks import services as webhook_services
from webhooks.models import InboundEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("veriff_without_media")]


def signed_decision(settings, session_id: str, status="approved"):
    body = json.dumps(
        {
            "status": "success",
            "verification": {
                "id": session_id,
                "status": status,
                "code": 9001,
                "attemptId": "a-1",
                "decisionTime": "2026-01-01T10:00:00.000Z",
            },
        }
    ).encode()
    headers = {
        "X-AUTH-CLIENT": veriff_options(settings).api_key,
        "X-HMAC-SIGNATURE": signing.signature(body, veriff_options(settings).api_secret, "hmac"),
    }
    return body, headers


def post(client, body, headers):
    return client.post(
        "/webhooks/veriff/decision/", data=body, content_type="application/json", headers=headers
    )


def test_with_the_database_down_a_webhook_is_refused_with_503_and_retry_after(client, settings, monkeypatch):
    session = SessionFactory()
    body, headers = signed_decision(settings, session.provider_session_id)

    def database_down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", database_down)
    response = post(client, body, headers)
    assert response.status_code == 503 and response["Retry-After"]
    monkeypatch.undo()
    # The provider's retry, once the database is back, is stored and applied.
    assert post(client, body, headers).status_code == 200
    session.refresh_from_db()
    assert session.status == "approved"


def test_a_broker_that_is_down_does_not_turn_a_stored_event_into_an_error(client, settings, monkeypatch):
    from webhooks import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis unreachable")

    monkeypatch.setattr(tasks.inbound_event_process, "delay", broker_down)
    session = SessionFactory()
    response = post(client, *signed_decision(settings, session.provider_session_id))
    assert response.status_code == 200
    # Stored, waiting for reconciliation to queue it.
    assert InboundEvent.objects.get().state == InboundEvent.State.RECEIVED


def test_losing_the_database_mid_processing_rolls_back_claim_and_work_together(client, settings, monkeypatch):
    from kyc.services import updates

    session = SessionFactory()
    body, headers = signed_decision(settings, session.provider_session_id)
    real_apply = updates.session_apply_update

    def apply_then_lose_the_connection(**kwargs):
        real_apply(**kwargs)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(updates, "session_apply_update", apply_then_lose_the_connection)
    post(client, body, headers)  # stored; in-process processing hits the fault
    event = InboundEvent.objects.get()
    assert (event.state, event.attempts) == (InboundEvent.State.RECEIVED, 0)
    assert not ProviderDecision.objects.exists()  # the applied half was rolled back too

    monkeypatch.undo()
    assert processing.inbound_event_process(event_id=event.pk) == InboundEvent.State.PROCESSED
    event.refresh_from_db()
    assert event.attempts == 1 and ProviderDecision.objects.count() == 1


def test_processing_an_event_twice_applies_it_once(client, settings):
    session = SessionFactory()
    post(client, *signed_decision(settings, session.provider_session_id))
    event = InboundEvent.objects.get()
    assert processing.inbound_event_process(event_id=event.pk) is None  # a second delivery
    event.refresh_from_db()
    assert event.attempts == 1 and ProviderDecision.objects.count() == 1


def test_a_failed_event_waits_for_a_replay_and_is_not_retried_by_a_stray_task(client, settings, monkeypatch):
    from kyc.services import updates

    session = SessionFactory()

    def bug(**kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(updates, "session_apply_update", bug)
    post(client, *signed_decision(settings, session.provider_session_id))
    event = InboundEvent.objects.get()
    assert event.state == InboundEvent.State.FAILED and "ValueError" in event.error
    monkeypatch.undo()
    assert processing.inbound_event_process(event_id=event.pk) is None
    assert webhook_services.inbound_event_replay(event_id=event.pk) is True
    event.refresh_from_db()
    assert event.state == InboundEvent.State.PROCESSED and event.attempts == 2


def test_the_processing_failure_log_line_carries_no_personal_data(client, settings, monkeypatch, caplog):
    from kyc.services import updates

    session = SessionFactory()

    def fails_with_data(**kwargs):
        raise ValueError("duplicate key (first_name)=(Sarah)")

    monkeypatch.setattr(updates, "session_apply_update", fails_with_data)
    post(client, *signed_decision(settings, session.provider_session_id))
    assert "ValueError" in caplog.text
    assert "Sarah" not in caplog.text
