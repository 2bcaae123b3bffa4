"""Webhook storm: several thousand signed deliveries over HTTP for a few hundred sessions, with
duplicates (sequential and racing), reordering, forged signatures and broken JSON mixed in.

Afterwards: every session says what the provider's last word says, nothing forged was applied,
no request got a 5xx, and every accepted event was processed exactly once."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db.models import Sum

from kyc.models import AuditEvent, ProviderDecision, VerificationSession
from providers.veriff import signing
from tests.factories import CustomerFactory
from tests.providers_config import veriff_options
from tests.support.servers import wait_until
from tests.webhooks.veriff_histories import Fact, history, last_word
from webhooks.models import InboundEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SESSIONS = 300
CLIENT_THREADS = 16
SHAPES = [
    (1, "approved"),
    (1, "declined"),
    (1, "review"),
    (1, "expired"),
    (1, "abandoned"),
    (1, "submitted"),
    (2, "approved"),
    (2, "resubmission_requested"),
    (2, "started"),
    (3, "declined"),
]


def signed_headers(body: bytes, settings, *, secret: str | None = None, key: str | None = None) -> dict:
    headers = signing.signature_headers(
        body,
        key or veriff_options(settings).api_key,
        secret or veriff_options(settings).api_secret,
        veriff_options(settings).signature_scheme,
    )
    headers["Content-Type"] = "application/json"
    return headers


def plan(settings, rng: random.Random):
    """The sessions, each one's provider history, and the deliveries in the order they go out."""
    sessions, genuine, deliveries = {}, [], []
    customers = CustomerFactory.create_batch(SESSIONS)
    for customer in customers:
        session = VerificationSession.objects.create(
            customer=customer, provider="veriff", provider_session_id=str(uuid.uuid4())
        )
        attempts, ending = rng.choice(SHAPES)
        facts = history(session.provider_session_id, rng, attempts=attempts, ending=ending)
        sessions[session.pk] = facts
        genuine += facts
        for fact in facts:
            copies = rng.choice((1, 1, 2, 3))
            deliveries += [("genuine", fact, signed_headers(fact.body, settings))] * copies
        # A forger who knows the session id but not the secret, pushing the opposite outcome.
        forged = history(session.provider_session_id, rng, attempts=1, ending="approved")[-1]
        forged_headers = signed_headers(forged.body, settings, secret="not-the-secret")
        deliveries.append(("forged", forged, forged_headers))
        wrong_key = signed_headers(forged.body, settings, key="00000000-0000-0000-0000-000000000000")
        deliveries.append(("forged", forged, wrong_key))
        # Authentic but unreadable: cut short.
        broken = Fact("decision", facts[-1].body[: len(facts[-1].body) // 2], "broken")
        deliveries.append(("broken", broken, signed_headers(broken.body, settings)))
    rng.shuffle(deliveries)
    # Some deliveries go out twice at the same instant (two of the provider's senders racing).
    racing = rng.sample(range(len(deliveries)), k=len(deliveries) // 10)
    return sessions, genuine, deliveries, set(racing)


def test_webhook_storm(start_stack, settings):
    stack = start_stack(concurrency=4)
    rng = random.Random(20260101)
    sessions, genuine, deliveries, racing = plan(settings, rng)
    answers: list[tuple[str, int]] = []
    lock = threading.Lock()
    local = threading.local()

    def send(what: str, fact: Fact, headers: dict) -> None:
        if not hasattr(local, "http"):
            local.http = requests.Session()
        url = f"{stack.base_url}/webhooks/veriff/{fact.kind}/"
        try:
            status = local.http.post(url, data=fact.body, headers=headers, timeout=30).status_code
        except requests.RequestException as exc:
            status = f"{type(exc).__name__}"
        with lock:
            answers.append((what, status))

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        for index, delivery in enumerate(deliveries):
            pool.submit(send, *delivery)
            if index in racing:
                pool.submit(send, *delivery)
    sent = len(answers)
    assert sent >= 3000, f"only {sent} deliveries: not a storm"
    print(f"storm: {sent} deliveries in {time.monotonic() - started:.1f}s")

    # No 5xx (nor a dropped connection), and each kind answered as it should be.
    by_kind = Counter(answers)
    assert all(isinstance(status, int) and status < 500 for _, status in answers), by_kind
    assert {status for what, status in answers if what == "genuine"} == {200}, by_kind
    # A forger's address gets 429 once over its limit of rejected deliveries (webhooks/limits.py).
    assert {status for what, status in answers if what == "forged"} <= {401, 429}, by_kind
    assert {status for what, status in answers if what == "broken"} == {400}, by_kind

    # Wait (bounded) until the worker has applied everything.
    def drained() -> bool:
        pending = InboundEvent.objects.filter(
            authenticated=True, state__in=[InboundEvent.State.RECEIVED, InboundEvent.State.PROCESSING]
        )
        return not pending.exists() and stack.wait_idle(timeout=5)

    wait_until(drained, timeout=240, interval=1, message="every stored event processed")

    # Every session says what the provider's last word says.
    wrong = {}
    for session in VerificationSession.objects.filter(pk__in=sessions):
        expected = last_word(sessions[session.pk])
        if session.status != expected:
            wrong[session.pk] = (session.status, expected, [f.status for f in sessions[session.pk]])
    assert wrong == {}

    # Nothing forged was applied: rejected, never authenticated, never processed; those answered
    # 429 were not stored at all.
    forged = InboundEvent.objects.filter(state=InboundEvent.State.REJECTED)
    assert forged.count() == sum(1 for what, status in answers if what == "forged" and status == 401)
    assert not forged.filter(authenticated=True).exists()

    # Every accepted event stored once and processed exactly once; nothing failed.
    distinct_facts = {fact.body for fact in genuine}
    accepted = InboundEvent.objects.filter(authenticated=True).exclude(state=InboundEvent.State.MALFORMED)
    assert accepted.count() == len(distinct_facts)
    assert set(accepted.values_list("state", flat=True)) == {InboundEvent.State.PROCESSED}
    assert set(accepted.values_list("attempts", flat=True)) == {1}
    genuine_sent = sum(1 for what, _ in answers if what == "genuine")
    assert accepted.aggregate(n=Sum("duplicates"))["n"] == genuine_sent - len(distinct_facts)
    # One decision row and one audit entry per decision the provider made.
    decisions = [fact for fact in genuine if fact.kind == "decision"]
    assert ProviderDecision.objects.filter(session_id__in=sessions).count() == len(decisions)
    assert AuditEvent.objects.filter(action="session.provider_decision").count() == len(decisions)
