"""Provider outage: the sandbox answers 500, then hangs past our timeout, then recovers. The work
started during the outage (a new session, a decided session's media) completes after recovery,
with its backoff visible on the records and in the worker's log, and nothing is duplicated."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests

from kyc.models import Media, ProviderDecision, VerificationSession
from kyc.services import customers, sessions
from tests.support.servers import wait_until
from tests.support.veriff import file_sha256, provider_media, provider_media_sha256

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def fault(sandbox, **data):
    response = requests.post(f"{sandbox.base}/faults", json=data, timeout=15)
    assert response.status_code == 200, response.text
    return response.json()["fault"]


def provider_session(session_pk: int, timeout=30) -> VerificationSession:
    return wait_until(
        lambda: VerificationSession.objects.exclude(provider_session_id=None).filter(pk=session_pk).first(),
        timeout=timeout,
        message="the provider session",
    )


def test_work_started_during_an_outage_completes_after_recovery_once(stack, sandbox, settings):
    decided = sessions.verification_start(
        customer=customers.customer_create(external_ref="OUT-1", first_name="Out", last_name="Age"),
        actor_label="test",
    )
    decided = provider_session(decided.pk)

    # The outage: every API call answers 500.
    fault(sandbox, mode="error")
    sandbox.decide(decided.provider_session_id, "approved")  # its webhook still reaches us
    started = sessions.verification_start(
        customer=customers.customer_create(external_ref="OUT-2", first_name="Down", last_name="Time"),
        actor_label="test",
    )
    # Backoff visible on the record: attempts counted, the next one's time set.
    wait_until(
        lambda: VerificationSession.objects.filter(
            pk=started.pk, provider_attempts__gte=2, provider_next_attempt_at__isnull=False
        ).exists(),
        timeout=30,
        message="the session creation retried with a due time",
    )
    session_row = VerificationSession.objects.get(pk=started.pk)
    assert "500" in session_row.provider_error

    # Then the provider hangs past our 1 s timeout.
    fault(sandbox, mode="timeout", seconds=3)
    hits_before = fault_hits(sandbox)
    wait_until(lambda: fault_hits(sandbox) > hits_before, timeout=40, message="a call into the hang")
    time.sleep(2)

    # Recovery.
    fault(sandbox, mode="none")
    started = provider_session(started.pk, timeout=120)
    decided.refresh_from_db()
    assert decided.status == "approved"
    expected = {m.provider_media_id for m in provider_media(decided.provider_session_id)}

    def media_done() -> bool:
        rows = list(Media.objects.filter(session=decided))
        return {m.provider_media_id for m in rows} == expected and all(m.state == "stored" for m in rows)

    wait_until(media_done, timeout=120, interval=0.5, message="the decided session's media stored")

    # Nothing duplicated: one provider session on our side, one decision, each file once.
    assert VerificationSession.objects.filter(customer__external_ref="OUT-2").count() == 1
    assert started.provider_error == "" and started.parked_at is None
    assert ProviderDecision.objects.filter(session=decided).count() == 1
    root = Path(settings.MEDIA_ROOT)
    files = sorted(p for p in (root / "evidence" / str(decided.reference)).rglob("*") if p.is_file())
    assert len(files) == len(expected)
    for media in Media.objects.filter(session=decided):
        assert (
            file_sha256(root / media.file.name)
            == media.sha256
            == provider_media_sha256(media.provider_media_id)
        )

    # The backoff in the worker's log: retries numbered, countdowns within the growing bound.
    retries = [
        (int(n), float(c))
        for n, c in re.findall(
            r"task_retry task=kyc\.tasks\.\w+ retry=(\d+) countdown=([\d.]+)", stack.logs()
        )
    ]
    assert retries and max(n for n, _ in retries) >= 2
    assert all(c <= 2 * 2 ** (n - 1) for n, c in retries)


def fault_hits(sandbox) -> int:
    return requests.get(f"{sandbox.base}/faults", timeout=15).json()["fault"].get("hits", 0)
