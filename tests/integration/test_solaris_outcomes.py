"""Every Solaris outcome end to end on the live stack: the app's webhook subscriptions made as an
operator makes them (`solaris_webhooks sync`), a verification started through the REST API with
{"provider": "solaris"}, the worker creating the person and the identification at the sandbox over
HTTP, the end user on the IDnow-like page or the sandbox's control endpoint deciding, its signed
IDENTIFICATION notifications crossing the socket to /webhooks/solaris/, the worker reading the
identification back (a notification is only a hint) and downloading IDnow's files; the evidence on
disk is byte for byte what the sandbox serves."""

import json
import subprocess
import sys

import pytest
import requests

from api.services import api_key_create
from kyc.models import Attempt, Customer, ProviderAccount, VerificationSession
from providers.solaris.models import WebhookSubscription
from tests.support.servers import PROJECT_ROOT
from tests.support.solaris import EVENT_TYPES, IDNOW_PATH, provider_session
from tests.support.veriff import (
    HTTP_TIMEOUT,
    evidence_files,
    file_sha256,
    media_path,
    media_stored,
    session_in,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def api_start(base_url: str, ref: str) -> tuple[Customer, dict]:
    """A customer created and a Solaris verification started by the business's backend, over HTTP."""
    _, key = api_key_create(name=f"it {ref}", scopes=["read", "write"])
    auth = {"Authorization": f"Api-Key {key}"}
    created = requests.post(
        f"{base_url}/api/v1/customers/",
        json={
            "external_ref": ref,
            "first_name": "Greta",
            "last_name": "Lindqvist",
            "email": f"{ref.lower()}@example.org",
            "date_of_birth": "1988-03-14",
            "country": "DE",
        },
        headers=auth,
        timeout=HTTP_TIMEOUT,
    )
    assert created.status_code == 201, created.text
    customer = Customer.objects.get(external_ref=ref)
    started = requests.post(
        f"{base_url}/api/v1/customers/{customer.pk}/verifications/",
        json={"provider": "solaris"},
        headers=auth,
        timeout=HTTP_TIMEOUT,
    )
    assert started.status_code == 201, started.text
    assert started.json()["provider"] == "solaris"
    return customer, started.json()


def test_sync_subscribes_the_app_at_solaris_as_an_operator_runs_it(live_stack, solaris):
    """`python manage.py solaris_webhooks sync` in its own process, configured like the served app:
    three subscriptions at the sandbox, each created after its handshake reached our receiver, each
    secret kept sealed in our database; a second run changes nothing."""
    argv = [sys.executable, "manage.py", "solaris_webhooks", "sync"]
    env = live_stack.env()
    first = subprocess.run(argv, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr

    receiver = f"{live_stack.base_url}/webhooks/solaris/"
    at_solaris = {s["event_type"]: s for s in solaris.subscriptions()}
    assert set(at_solaris) == EVENT_TYPES
    assert {s["url"] for s in at_solaris.values()} == {receiver}
    ours = {s.subscription_id: s for s in WebhookSubscription.objects.all()}
    assert set(ours) == {s["id"] for s in at_solaris.values()}
    for subscription in at_solaris.values():
        # Sealed at rest: the secret is nowhere in the row as Solaris gave it.
        row = ours[subscription["id"]]
        assert subscription["secret"] not in str(vars(row))

    second = subprocess.run(argv, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    assert {s["id"] for s in solaris.subscriptions()} == set(ours)
    assert set(WebhookSubscription.objects.values_list("subscription_id", flat=True)) == set(ours)


@pytest.mark.parametrize(
    ("outcome", "by", "status", "kyc_status", "has_documents"),
    [
        pytest.param("successful", "end user", "approved", "verified", True, id="successful"),
        pytest.param("failed", "end user", "declined", "rejected", True, id="failed"),
        pytest.param("aborted", "end user", "abandoned", "action_required", False, id="aborted"),
        pytest.param("expired", "control", "expired", "action_required", False, id="expired"),
        pytest.param("canceled", "control", "abandoned", "action_required", False, id="canceled"),
    ],
)
def test_outcome_reaches_session_customer_and_evidence_on_disk(
    live_stack, solaris_subscribed, solaris_user, outcome, by, status, kyc_status, has_documents
):
    solaris = solaris_subscribed
    customer, started = api_start(live_stack.base_url, f"IT-SOLARIS-{outcome}")
    session = provider_session(VerificationSession.objects.get(reference=started["id"]).pk)
    identification_id = session.provider_session_id
    assert IDNOW_PATH.search(session.hosted_url).group(1) == identification_id
    at_solaris = solaris.identification(identification_id)
    assert (at_solaris["status"], at_solaris["url"]) == ("pending", session.hosted_url)
    # The API shows the identification's id: the id the sandbox's control endpoints take.
    account = ProviderAccount.objects.get(customer=customer, provider="solaris")
    assert at_solaris["person_id"] == account.provider_person_id

    if by == "end user":
        hosted_url = solaris_user.wait_for_hosted_url(session)
        assert hosted_url == session.hosted_url
        solaris_user.identify(hosted_url, outcome)
    else:
        solaris.outcome(identification_id, outcome)

    session = session_in(session.pk, status)
    assert session.customer.kyc_status == kyc_status
    decision = session.decisions.filter(applied=True).get()
    assert (decision.status, decision.provider_status) == (status, outcome)
    # Every notification about it was taken (2xx), the last one announcing the outcome; none was
    # refused or is waiting for a retry.
    deliveries = solaris.wait_delivered(
        identification_id, len(solaris.deliveries(entity_id=identification_id))
    )
    assert {d["event_type"] for d in deliveries} == {"IDENTIFICATION"}
    assert json.loads(deliveries[-1]["body"])["status"] == outcome

    documents = solaris.documents(identification_id)
    assert bool(documents) == has_documents
    rows = media_stored(session, {d["id"] for d in documents})
    by_id = {d["id"]: d for d in documents}
    for media in rows:
        path = media_path(media)
        assert path.is_file(), f"{media.context}: {path} is missing"
        on_disk = file_sha256(path)
        assert on_disk == media.sha256, f"{media.context}: the recorded SHA-256 is not the file's"
        assert on_disk == solaris.document_sha256(account.provider_person_id, media.provider_media_id), (
            f"{media.context}: the stored file differs from what Solaris serves"
        )
        assert path.stat().st_size == media.size == by_id[media.provider_media_id]["size"]
    if has_documents:
        # IDnow's files: both sides of the ID card, the selfie and the report.
        assert {"document-front", "document-back", "face"} <= {m.context for m in rows}
        assert Attempt.objects.filter(session=session).count() == 1
    # Nothing but the evidence in the session's folder: no partial downloads, no second copies.
    assert evidence_files(session) == sorted(m.file.name for m in rows)


def test_a_provisional_verdict_waits_for_solaris_review(live_stack, solaris_subscribed, solaris_user):
    """IDnow identified the person (pending_successful): submitted and provisional, not approved,
    until Solaris's own review says successful."""
    solaris = solaris_subscribed
    _, started = api_start(live_stack.base_url, "IT-SOLARIS-PROVISIONAL")
    session = provider_session(VerificationSession.objects.get(reference=started["id"]).pk)
    solaris_user.identify(solaris_user.wait_for_hosted_url(session), "successful", provisional=True)

    session = session_in(session.pk, "submitted")
    assert session.customer.kyc_status != "verified"
    provisional = session.decisions.get()
    assert provisional.provider_status == "pending_successful"
    assert "provisional" in provisional.reason

    solaris.outcome(session.provider_session_id, "successful")
    session = session_in(session.pk, "approved")
    assert session.customer.kyc_status == "verified"
    assert sorted(session.decisions.values_list("provider_status", flat=True)) == [
        "pending_successful",
        "successful",
    ]
