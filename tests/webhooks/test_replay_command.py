"""`manage.py replay_webhooks` queues failed events again; each is applied once."""

import json

import pytest
from django.core.management import CommandError, call_command

from tests.factories import SessionFactory
from webhooks.models import InboundEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("veriff_without_media")]


def failed_event(session, key="k-1"):
    body = json.dumps(
        {"id": session.provider_session_id, "attemptId": "a", "code": 7001, "action": "started"}
    )
    return InboundEvent.objects.create(
        provider="veriff",
        kind="events",
        body=body.encode(),
        authenticated=True,
        dedupe_key=key,
        provider_session_id=session.provider_session_id,
        state=InboundEvent.State.FAILED,
        attempts=1,
        error="Traceback: a bug since fixed",
    )


def test_failed_events_are_replayed_and_applied(capsys):
    session = SessionFactory()
    event = failed_event(session)
    call_command("replay_webhooks", "--dry-run")
    assert "1 event(s) would be replayed" in capsys.readouterr().out
    assert InboundEvent.objects.get(pk=event.pk).state == InboundEvent.State.FAILED
    call_command("replay_webhooks")
    assert "1 event(s) queued again" in capsys.readouterr().out
    event.refresh_from_db()
    session.refresh_from_db()
    assert event.state == InboundEvent.State.PROCESSED and event.attempts == 2
    assert session.status == "started"
    call_command("replay_webhooks")  # nothing left to replay
    assert "0 event(s) queued again" in capsys.readouterr().out


def test_an_id_that_cannot_be_replayed_is_refused_and_nothing_is_queued():
    session = SessionFactory()
    event = failed_event(session)
    processed = failed_event(session, key="k-2")
    InboundEvent.objects.filter(pk=processed.pk).update(state=InboundEvent.State.PROCESSED)
    with pytest.raises(CommandError, match=str(processed.pk)):
        call_command("replay_webhooks", str(event.pk), str(processed.pk))
    assert InboundEvent.objects.get(pk=event.pk).state == InboundEvent.State.FAILED


def test_malformed_events_are_replayed_by_state(capsys):
    session = SessionFactory()
    event = failed_event(session)
    InboundEvent.objects.filter(pk=event.pk).update(
        state=InboundEvent.State.MALFORMED, provider_session_id=""
    )
    call_command("replay_webhooks", "--state", "malformed")
    assert "1 event(s) queued again" in capsys.readouterr().out
    event.refresh_from_db()
    assert (event.state, event.provider_session_id) == ("processed", session.provider_session_id)
