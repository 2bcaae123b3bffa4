"""Webhooks as a real provider delivers them: again, out of order, and several at once.

Veriff retries a delivery it thinks failed and sends no delivery id, so the app sees the same
bytes again, sometimes while the first copy is still being stored (docs/architecture.md,
"A verification, end to end").
"""

import datetime as dt
import hashlib
import json
import threading

import pytest
import requests

from kyc.models import Attempt, AuditEvent, Media, ProviderDecision, VerificationSession
from kyc.services import customers, sessions
from providers.registry import get_provider
from tests.support.servers import wait_until
from tests.support.veriff import (
    HTTP_TIMEOUT,
    evidence_files,
    media_stored,
    provider_media,
    session_in,
    signed_webhook,
)
from webhooks.models import InboundEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

RACERS = 8


def _customer(ref: str):
    return customers.customer_create(external_ref=ref, first_name="Mari", last_name="Maasikas", country="EE")


def _provider_session(session: VerificationSession) -> VerificationSession:
    def created() -> VerificationSession | None:
        session.refresh_from_db()
        return session if session.provider_session_id else None

    return wait_until(created, timeout=30, message="the provider session to be created")


def _all_processed(provider_session_id: str, count: int) -> None:
    def done() -> bool:
        states = list(
            InboundEvent.objects.filter(provider_session_id=provider_session_id).values_list(
                "state", flat=True
            )
        )
        return len(states) == count and set(states) == {InboundEvent.State.PROCESSED}

    wait_until(done, timeout=30, message=f"{count} inbound events processed")


def _duplicates(provider_session_id: str) -> int:
    return sum(
        InboundEvent.objects.filter(provider_session_id=provider_session_id).values_list(
            "duplicates", flat=True
        )
    )


def _snapshot(session: VerificationSession) -> dict:
    session.refresh_from_db()
    return {
        "status": session.status,
        "decided_at": session.decided_at,
        "last_decision_time": session.last_decision_time,
        "kyc_status": session.customer.kyc_status,
        "decisions": list(ProviderDecision.objects.filter(session=session).values_list("pk", "dedupe_key")),
        "attempts": list(Attempt.objects.filter(session=session).values_list("pk", "status")),
        "media": list(Media.objects.filter(session=session).values_list("pk", "state", "sha256", "file")),
        "files": evidence_files(session),
        "status_changes": AuditEvent.objects.filter(session=session, action="session.status_changed").count(),
    }


def test_replayed_and_reordered_webhooks_change_nothing(sandbox):
    customer = _customer("IT-REPLAY")
    session = _provider_session(
        sessions.verification_start(customer=customer, actor_label="integration-test")
    )
    psid = session.provider_session_id
    sandbox.decide(psid, "approved")
    session = session_in(session.pk, "approved")
    media_stored(session, {m.provider_media_id for m in provider_media(psid)})
    deliveries = sandbox.wait_delivered(psid, 3)
    assert [d["kind"] for d in deliveries] == ["event", "event", "decision"]
    _all_processed(psid, 3)
    before = _snapshot(session)
    assert before["status"] == "approved" and len(before["media"]) == 4 and len(before["decisions"]) == 1

    # 1. The sandbox sends its logged deliveries again (same bytes, same signature), newest
    #    first, twice: each is recognised as a duplicate when it arrives.
    for delivery in [*reversed(deliveries), *reversed(deliveries)]:
        tried = sandbox.delivery(psid, delivery["id"])["attempts"]
        sandbox.redeliver(delivery["id"])

        def sent_again(delivery_id=delivery["id"], tried=tried) -> bool:
            row = sandbox.delivery(psid, delivery_id)
            return row["attempts"] == tried + 1 and row["deliveredAt"] is not None

        wait_until(sent_again, timeout=30, message=f"delivery {delivery['id']} sent again")
        assert sandbox.delivery(psid, delivery["id"])["lastStatusCode"] == 200
    wait_until(lambda: _duplicates(psid) == 6, timeout=30, message="6 duplicates counted")

    # 2. The recorded bodies with their recorded headers, posted by us, newest first, twice.
    for delivery in [*reversed(deliveries), *reversed(deliveries)]:
        response = requests.post(
            delivery["url"], data=delivery["body"].encode(), headers=delivery["headers"], timeout=HTTP_TIMEOUT
        )
        assert response.status_code == 200, response.text
    assert _duplicates(psid) == 12
    assert InboundEvent.objects.filter(provider_session_id=psid).count() == 3

    # 3. The same facts in other bytes (re-serialized, re-signed): past the byte-level dedupe, so
    #    they are stored and processed, and the domain must see them as old news.
    for delivery in [*reversed(deliveries), *reversed(deliveries)]:
        body, headers = signed_webhook(json.dumps(json.loads(delivery["body"]), indent=2).encode())
        response = requests.post(delivery["url"], data=body, headers=headers, timeout=HTTP_TIMEOUT)
        assert response.status_code == 200, response.text
    _all_processed(psid, 6)
    assert _duplicates(psid) == 15

    assert _snapshot(session) == before


def test_identical_deliveries_racing_store_one_event_and_apply_once(sandbox, settings):
    customer = _customer("IT-RACE")
    session = _provider_session(
        sessions.verification_start(customer=customer, actor_label="integration-test")
    )
    psid = session.provider_session_id
    veriff = get_provider("veriff").client
    # Submitted through Veriff's API (PATCH status=submitted): events 7001 and 7002 and the
    # attempt's media, but no decision yet; that one we send ourselves, eight times at once.
    veriff.update_session_status(psid, "submitted")
    session_in(session.pk, "submitted")
    attempt_id = veriff.get_attempts(psid)["verifications"][-1]["id"]
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body, headers = signed_webhook(
        {
            "status": "success",
            "verification": {
                "id": psid,
                "attemptId": attempt_id,
                "code": 9001,
                "person": {"firstName": "MARI", "lastName": "MAASIKAS", "dateOfBirth": "1990-01-01"},
                "reason": None,
                "status": "approved",
                "comments": [],
                "document": {"type": "PASSPORT", "number": "RACE0001", "country": "EE"},
                "reasonCode": None,
                "vendorData": str(session.reference),
                "decisionTime": now,
                "acceptanceTime": now,
            },
            "technicalData": {"ip": None},
        }
    )
    url = f"{settings.KYC_PUBLIC_URL}/webhooks/veriff/decision/"

    barrier = threading.Barrier(RACERS)
    answers: list = [None] * RACERS

    def deliver(i: int) -> None:
        with requests.Session() as http:
            barrier.wait(timeout=10)
            try:
                answers[i] = http.post(url, data=body, headers=headers, timeout=HTTP_TIMEOUT)
            except requests.RequestException as exc:
                answers[i] = exc

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [getattr(a, "status_code", a) for a in answers] == [200] * RACERS
    assert all(a.json() == {"status": "success"} for a in answers)
    stored = InboundEvent.objects.filter(dedupe_key=f"veriff:{hashlib.sha256(body).hexdigest()}")
    assert stored.count() == 1
    assert stored.get().duplicates == RACERS - 1
    assert InboundEvent.objects.filter(provider_session_id=psid, kind="decision").count() == 1

    session = session_in(session.pk, "approved")
    assert session.customer.kyc_status == "verified"
    _all_processed(psid, 3)  # 7001, 7002, the decision
    assert ProviderDecision.objects.filter(session=session).count() == 1
    assert ProviderDecision.objects.get(session=session).document["number"] == "RACE0001"
    changes = AuditEvent.objects.filter(session=session, action="session.status_changed")
    assert [e.after["status"] for e in changes.order_by("created_at", "id")] == [
        "started",
        "submitted",
        "approved",
    ]
    # The decision's media download ran once too: the attempt's four files, once each.
    rows = media_stored(session, {m.provider_media_id for m in provider_media(psid)})
    assert len(rows) == 4 and len(evidence_files(session)) == 4
