"""Missed webhook: the provider decided, its webhook never reached us (the sandbox loses it), and
reconciliation picks the decision up from the provider's API and applies it, media included."""

import datetime as dt

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from kyc.models import AuditEvent, ProviderDecision, VerificationSession
from kyc.services import customers, sessions
from tests.support.servers import wait_until
from tests.support.veriff import media_stored, provider_media, session_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def webhooks_lost(sandbox):
    requests.post(f"{sandbox.base}/faults", json={"mode": "drop_webhooks"}, timeout=15)
    yield
    requests.post(f"{sandbox.base}/faults", json={"mode": "none"}, timeout=15)


def test_a_decision_the_app_never_heard_of_is_picked_up_by_reconciliation(sandbox, webhooks_lost, capsys):
    customer = customers.customer_create(external_ref="IT-MISSED", first_name="Miss", last_name="Ed")
    session = sessions.verification_start(customer=customer, actor_label="integration-test")
    session = wait_until(
        lambda: VerificationSession.objects.exclude(provider_session_id=None).filter(pk=session.pk).first(),
        timeout=30,
        message="the provider session",
    )
    sandbox.decide(session.provider_session_id, "declined", reason_code=102)
    deliveries = sandbox.deliveries(session.provider_session_id)
    assert deliveries and all(d["deliveredAt"] is None for d in deliveries)  # all lost
    session.refresh_from_db()
    assert session.status == "created" and not ProviderDecision.objects.filter(session=session).exists()

    # Quiet for longer than KYC_RECONCILE_QUIET_AFTER (15 minutes by default).
    VerificationSession.objects.filter(pk=session.pk).update(
        status_changed_at=timezone.now() - dt.timedelta(minutes=16)
    )
    call_command("reconcile", "--json")

    session = session_in(session.pk, "declined")
    decision = ProviderDecision.objects.get(session=session)
    assert (decision.code, decision.reason_code, decision.applied) == (9102, "102", True)
    assert session.customer.kyc_status == "rejected"
    assert AuditEvent.objects.filter(session=session, action="session.provider_decision").count() == 1
    # The same path as a webhook: the media follow, downloaded by the worker.
    media_stored(session, {m.provider_media_id for m in provider_media(session.provider_session_id)})
