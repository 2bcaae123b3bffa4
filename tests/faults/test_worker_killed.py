"""A worker killed with SIGKILL in the middle of media downloads and event processing, then
started again: reconciliation re-queues what died with it, every file ends up present once with
the right SHA-256, nothing half-written is left, and every event is applied exactly once."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.core.management import call_command

from kyc.models import Media, VerificationSession
from kyc.services import customers
from kyc.services import sessions as kyc_sessions
from tests.factories import CustomerFactory
from tests.support.servers import wait_until
from tests.support.veriff import file_sha256, provider_media, provider_media_sha256, signed_webhook
from tests.webhooks.veriff_histories import history
from webhooks.models import InboundEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CUSTOMERS = 4
BURST = 150


def reconciled_until(predicate, *, timeout: float, message: str):
    """Run reconciliation every couple of seconds (as beat would) until `predicate` holds."""

    def check():
        if predicate():
            return True
        call_command("reconcile", "--json")
        time.sleep(1.5)
        return predicate()

    return wait_until(check, timeout=timeout, interval=0.5, message=message)


def test_worker_killed_mid_download_and_mid_processing(stack, sandbox, settings, capsys):
    # Slow media (small chunks, pauses) so that the kill lands in the middle of downloads.
    requests.post(
        f"{sandbox.base}/faults", json={"mode": "slow", "seconds": 0.05, "match": "/media/"}, timeout=15
    )
    sessions = []
    for i in range(CUSTOMERS):
        customer = customers.customer_create(
            external_ref=f"KILL-{i}", first_name="Kill", last_name=f"Test{i}"
        )
        sessions.append(kyc_sessions.verification_start(customer=customer, actor_label="test"))
    for index, session in enumerate(sessions):
        sessions[index] = session = wait_until(
            lambda s=session: (
                VerificationSession.objects.exclude(provider_session_id=None).filter(pk=s.pk).first()
            ),
            timeout=30,
            message="the provider session",
        )
        sandbox.decide(session.provider_session_id, "approved")

    # A burst of events for other sessions, so that processing is under way at the kill too.
    burst_sessions = [
        VerificationSession.objects.create(
            customer=c, provider="veriff", provider_session_id=str(uuid.uuid4())
        )
        for c in CustomerFactory.create_batch(BURST // 3)
    ]
    import random

    rng = random.Random(5)
    facts = [
        f for s in burst_sessions for f in history(s.provider_session_id, rng, attempts=1, ending="approved")
    ]

    def post(fact):
        body, headers = signed_webhook(fact.body)
        return requests.post(
            f"{stack.base_url}/webhooks/veriff/{fact.kind}/", data=body, headers=headers, timeout=30
        )

    # The kill comes once some files are half-way down.
    wait_until(
        lambda: Media.objects.filter(download_attempts__gt=0).exclude(state=Media.State.STORED).exists(),
        timeout=60,
        message="downloads under way",
    )
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, facts))
    assert {a.status_code for a in answers} == {200}
    stack.kill_worker()
    in_flight = Media.objects.exclude(state=Media.State.STORED).count()
    unprocessed = InboundEvent.objects.exclude(state=InboundEvent.State.PROCESSED).count()
    assert in_flight > 0, "the kill came after every download finished: nothing was tested"
    partial = list(Path(settings.MEDIA_ROOT, "tmp").glob("dl-*.part"))
    print(
        f"killed with {in_flight} downloads and {unprocessed} events not done, {len(partial)} partial files"
    )

    requests.post(f"{sandbox.base}/faults", json={"mode": "none"}, timeout=15)
    stack.restart_worker()
    time.sleep(3.5)  # past KYC_RECONCILE_STUCK_AFTER: the lost work now counts as stuck

    def everything_done() -> bool:
        media_done = not Media.objects.exclude(state=Media.State.STORED).exists()
        listed = all(
            Media.objects.filter(session=s).count() == len(provider_media(s.provider_session_id))
            for s in VerificationSession.objects.filter(pk__in=[s.pk for s in sessions])
        )
        events_done = (
            not InboundEvent.objects.filter(authenticated=True)
            .exclude(state=InboundEvent.State.PROCESSED)
            .exists()
        )
        return media_done and listed and events_done

    reconciled_until(everything_done, timeout=120, message="every file stored and every event processed")

    # Every file present once, with the right digest, nothing half-written left behind.
    root = Path(settings.MEDIA_ROOT)
    rows = list(Media.objects.filter(session__in=sessions))
    assert len(rows) == sum(len(provider_media(s.provider_session_id)) for s in sessions)
    on_disk = sorted(str(p.relative_to(root)) for p in (root / "evidence").rglob("*") if p.is_file())
    assert on_disk == sorted(m.file.name for m in rows)
    for media in rows:
        assert (
            file_sha256(root / media.file.name)
            == media.sha256
            == provider_media_sha256(media.provider_media_id)
        )
        assert (root / media.file.name).stat().st_size == media.size
    assert list((root / "tmp").glob("dl-*.part")) == []
    # Every event applied exactly once; every burst session approved.
    accepted = InboundEvent.objects.filter(authenticated=True)
    assert set(accepted.values_list("attempts", flat=True)) == {1}
    assert set(
        VerificationSession.objects.filter(pk__in=[s.pk for s in burst_sessions]).values_list(
            "status", flat=True
        )
    ) == {"approved"}
