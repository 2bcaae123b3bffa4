"""Solaris when things go wrong, on the live stack: a decision whose notifications were lost (the
sandbox's `drop_webhooks` fault) is picked up by reconciliation; every token expiring in the middle
of a flow (`control/tokens/expire`) costs the app's processes one refresh between them, the calls
that met the 401 replayed; eight processes asking at once fetch one token."""

import datetime as dt
import json
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.utils import timezone

from kyc.models import AuditEvent, Media, ProviderDecision, VerificationSession
from kyc.services import customers, sessions
from tests.support.servers import PROJECT_ROOT
from tests.support.solaris import provider_session
from tests.support.veriff import media_stored, session_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def started_at_solaris(live_stack, solaris, ref: str) -> VerificationSession:
    """A Solaris verification whose link is issued, every notification so far applied."""
    customer = customers.customer_create(
        external_ref=ref, first_name="Jonas", last_name="Brenner", country="DE", email="jonas@example.org"
    )
    session = sessions.verification_start(
        customer=customer, provider="solaris", actor_label="integration-test"
    )
    session = provider_session(session.pk)
    solaris.wait_delivered(
        session.provider_session_id, len(solaris.deliveries(entity_id=session.provider_session_id))
    )
    assert live_stack.wait_idle(), "the worker did not settle"
    return session


def test_a_decision_whose_notifications_were_lost_is_picked_up_by_reconciliation(
    live_stack, solaris_subscribed
):
    solaris = solaris_subscribed
    session = started_at_solaris(live_stack, solaris, "IT-SOLARIS-MISSED")
    before = VerificationSession.objects.get(pk=session.pk).status

    with solaris.fault("drop_webhooks"):
        walked = solaris.outcome(session.provider_session_id, "failed")["statuses"]
        # In force until the delivery worker has tried each one: lost when sent, not when made.
        tried = solaris.wait_settled(session.provider_session_id)
    assert walked == ["pending_failed", "failed"]
    lost = [json.loads(d["body"])["status"] for d in tried if d["state"] == "dropped"]
    assert lost == walked
    assert live_stack.wait_idle()
    session.refresh_from_db()
    assert session.status == before and not ProviderDecision.objects.filter(session=session).exists()

    # Quiet for longer than KYC_RECONCILE_QUIET_AFTER (15 minutes by default).
    VerificationSession.objects.filter(pk=session.pk).update(
        status_changed_at=timezone.now() - dt.timedelta(minutes=16)
    )
    call_command("reconcile", "--json")

    session = session_in(session.pk, "declined")
    decision = ProviderDecision.objects.get(session=session, applied=True)
    assert decision.provider_status == "failed"
    assert session.customer.kyc_status == "rejected"
    assert AuditEvent.objects.filter(session=session, action="session.provider_decision").count() >= 1
    # The same path as a notification: IDnow's files follow, downloaded by the worker.
    media_stored(session, {d["id"] for d in solaris.documents(session.provider_session_id)})


def test_every_token_expiring_mid_flow_costs_one_refresh(live_stack, solaris_subscribed):
    solaris = solaris_subscribed
    session = started_at_solaris(live_stack, solaris, "IT-SOLARIS-TOKEN")
    tokens = solaris.tokens()
    assert tokens["valid"] >= 1  # the app's token, shared by its processes, and the test's own

    assert solaris.tokens_expire() == tokens["valid"]
    # From here every call of the worker's processes meets a 401 first: the IDENTIFICATION reads
    # (three notifications, read back each time), the documents' listing, four downloads.
    solaris.outcome(session.provider_session_id, "successful")
    session = session_in(session.pk, "approved")
    media = Media.objects.filter(session=session)
    assert live_stack.wait_idle(timeout=45), "the worker did not settle"
    assert media.count() >= 3 and all(m.state == Media.State.STORED for m in media)
    after = solaris.tokens()

    assert after["requests"] - tokens["requests"] == 1, (
        "one refresh for all of the app's processes, the calls that met the 401 replayed"
    )
    assert after["issued"] == tokens["issued"] + 1 and after["valid"] == 1
    # Nothing was lost on the way: every file listed at Solaris is on our disk.
    media_stored(session, {d["id"] for d in solaris.documents(session.provider_session_id)})


# Eight processes of the app, configured as the served ones: Django is set up once, then forked
# (eight set-ups would cost half a minute on two cores); each child waits for the signal, then
# reads the person through the provider, which asks for a token first. Nothing was connected
# before the fork: each child opens its own connections to the cache and to Solaris.
ASKING_PROCESSES = """
import os, pathlib, sys, time
import django
django.setup()
from providers.registry import get_provider
go, person_id = pathlib.Path(sys.argv[1]), sys.argv[2]
children = []
for n in range(8):
    pid = os.fork()
    if pid == 0:
        while not go.exists():
            time.sleep(0.01)
        try:
            found = get_provider("solaris").fetch_person(person_id).provider_person_id
            pathlib.Path(f"{go}.{n}").write_text(found)
        finally:
            os._exit(0)
    children.append(pid)
print("ready", flush=True)
codes = [os.waitpid(pid, 0)[1] for pid in children]
sys.exit(1 if any(codes) else 0)
"""


def test_eight_processes_asking_at_once_fetch_one_token(live_stack, solaris, tmp_path):
    """Eight processes of the app with no token yet, asking at the same moment while the token
    endpoint is slow: one of them fetches the token, the seven others wait for it in the shared
    cache (providers/oauth.py), and all eight calls are answered."""
    person = solaris.api("POST", "/persons", json={"first_name": "Ada", "last_name": "Achtmal"}).json()
    go = tmp_path / "go"
    parent = subprocess.Popen(
        [sys.executable, "-c", ASKING_PROCESSES, str(go), person["id"]],
        cwd=PROJECT_ROOT,
        env=live_stack.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout.readline().strip() == "ready", parent.stderr.read()[-2000:]
        before = solaris.tokens()["requests"]
        with solaris.fault("slow_token", seconds=2):
            go.touch()
            _, errors = parent.communicate(timeout=60)
    finally:
        parent.kill()
    assert parent.returncode == 0, errors[-2000:]
    assert [(tmp_path / f"go.{n}").read_text() for n in range(8)] == [person["id"]] * 8
    assert solaris.tokens()["requests"] - before == 1
