"""Deliveries that fail authentication cost a bounded amount of storage (webhooks/limits.py): a
trace (headers, size, hash, a prefix of the body), a limit per source address answered 429, and
hourly budgets for everyone together. Authentic deliveries are never limited nor cut."""

import hashlib
import json

import pytest

from tests.providers_config import veriff_signature_headers
from webhooks import limits
from webhooks.models import InboundEvent

EVENTS_URL = "/webhooks/veriff/events/"
# The probe: a body just under Django's DATA_UPLOAD_MAX_MEMORY_SIZE.
LARGE = b'{"id": "' + b"x" * (2_400_000 - 10) + b'"}'

pytestmark = pytest.mark.django_db


def forge(client, body: bytes = b'{"id": "x", "code": 7001}', address: str = "198.51.100.7", **headers):
    return client.post(
        EVENTS_URL,
        data=body,
        content_type="application/json",
        headers={"X-AUTH-CLIENT": "not-our-key", "X-HMAC-SIGNATURE": "0" * 64, **headers},
        REMOTE_ADDR=address,
    )


def signed(client, body: bytes, settings, address: str = "198.51.100.7"):
    headers = veriff_signature_headers(settings, body)
    return client.post(
        EVENTS_URL, data=body, content_type="application/json", headers=headers, REMOTE_ADDR=address
    )


@pytest.fixture
def clock(monkeypatch):
    """The budgets' clock, at the start of an hour and of a window, moved by hand."""
    now = [1_800_000_000.0 - 1_800_000_000.0 % 3600]
    monkeypatch.setattr(limits, "clock", lambda: now[0])
    return now


def test_a_rejected_delivery_keeps_its_headers_size_hash_and_a_prefix_only(client, settings, clock):
    settings.KYC_WEBHOOK_REJECTED_BODY_PREFIX = 100
    response = forge(client, LARGE, **{"User-Agent": "u" * 5000})
    assert response.status_code == 401
    event = InboundEvent.objects.get()
    assert (event.state, event.authenticated) == (InboundEvent.State.REJECTED, False)
    assert bytes(event.body) == LARGE[:100]
    assert event.body_size == len(LARGE)
    assert event.body_sha256 == hashlib.sha256(LARGE).hexdigest()
    assert event.headers["X-HMAC-SIGNATURE"] == "0" * 64
    assert len(event.headers["User-Agent"]) <= 256  # anyone's to choose: cut too


def test_forty_large_unsigned_posts_store_no_more_than_the_budgets(client, settings, clock):
    # The probe (40 posts of 2.4 MB from one address stored 96 MB), with the defaults.
    answers = [forge(client, LARGE).status_code for _ in range(40)]
    per_address = settings.KYC_WEBHOOK_REJECTED_PER_ADDRESS
    assert answers == [401] * per_address + [429] * (40 - per_address)
    stored = InboundEvent.objects.all()
    assert stored.count() == per_address
    assert sum(len(bytes(event.body)) for event in stored) <= per_address * 1024


def test_an_address_over_its_limit_is_answered_429_and_nothing_more_is_stored(client, settings, clock):
    settings.KYC_WEBHOOK_REJECTED_PER_ADDRESS = 3
    settings.KYC_WEBHOOK_REJECTED_WINDOW = 600
    clock[0] += 200  # a third into the window
    answers = [forge(client) for _ in range(5)]
    assert [r.status_code for r in answers] == [401, 401, 401, 429, 429]
    assert answers[3]["Retry-After"] == "400"  # the rest of the window
    assert answers[3].json()["status"] == "fail"
    assert InboundEvent.objects.count() == 3
    # Another address is counted on its own…
    assert forge(client, address="203.0.113.9").status_code == 401
    # …and the limited one is heard again when its window ends.
    clock[0] += 400
    assert forge(client).status_code == 401
    assert InboundEvent.objects.count() == 5


def test_ipv6_addresses_are_counted_by_their_64(client, settings, clock):
    settings.KYC_WEBHOOK_REJECTED_PER_ADDRESS = 2
    assert forge(client, address="2001:db8:1:2::1").status_code == 401
    assert forge(client, address="2001:db8:1:2:ffff::2").status_code == 401
    assert forge(client, address="2001:db8:1:2::3").status_code == 429
    assert forge(client, address="2001:db8:1:3::1").status_code == 401  # another /64


def test_beyond_the_hourly_byte_budget_only_headers_size_and_hash_are_kept(client, settings, clock):
    settings.KYC_WEBHOOK_REJECTED_BODY_PREFIX = 100
    settings.KYC_WEBHOOK_REJECTED_BODY_BYTES_PER_HOUR = 250
    for index in range(4):
        assert forge(client, LARGE, address=f"192.0.2.{index + 1}").status_code == 401
    kept = [len(bytes(e.body)) for e in InboundEvent.objects.order_by("pk")]
    assert kept == [100, 100, 0, 0]
    assert set(InboundEvent.objects.values_list("body_size", flat=True)) == {len(LARGE)}
    # A new hour, a new budget.
    clock[0] += 3600
    assert forge(client, LARGE, address="192.0.2.9").status_code == 401
    assert len(bytes(InboundEvent.objects.order_by("pk").last().body)) == 100


def test_beyond_the_hourly_row_budget_rejected_deliveries_are_not_stored(client, settings, clock):
    settings.KYC_WEBHOOK_REJECTED_ROWS_PER_HOUR = 3
    answers = [forge(client, address=f"192.0.2.{index + 1}").status_code for index in range(5)]
    assert answers == [401] * 5  # still told they are not authenticated
    assert InboundEvent.objects.count() == 3


def test_without_the_cache_rejected_deliveries_are_answered_and_not_stored(client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(limits.cache, "add", unreachable)
    assert forge(client).status_code == 401
    assert not InboundEvent.objects.exists()


def test_authentic_deliveries_are_neither_limited_nor_cut(client, settings, clock):
    settings.KYC_WEBHOOK_REJECTED_PER_ADDRESS = 1
    settings.KYC_WEBHOOK_REJECTED_BODY_BYTES_PER_HOUR = 0
    assert forge(client).status_code == 401
    assert forge(client).status_code == 429  # this address is now limited…
    body = json.dumps({"id": "s-1", "code": 7001, "action": "started", "note": "n" * 2_000_000}).encode()
    response = signed(client, body, settings)  # …but the provider behind it is not
    assert response.status_code == 200
    event = InboundEvent.objects.get(authenticated=True)
    assert bytes(event.body) == body
    assert event.state in (InboundEvent.State.RECEIVED, InboundEvent.State.PROCESSED)


def test_a_forwarded_for_header_does_not_escape_the_limit(client, settings, clock):
    # The address is decided as for the staff login (django-axes): REMOTE_ADDR unless configured.
    settings.KYC_WEBHOOK_REJECTED_PER_ADDRESS = 2
    answers = [forge(client, **{"X-Forwarded-For": f"192.0.2.{n}"}).status_code for n in range(1, 4)]
    assert answers == [401, 401, 429]
    assert set(InboundEvent.objects.values_list("remote_addr", flat=True)) == {"198.51.100.7"}


def test_behind_a_proxy_the_address_is_the_one_our_proxy_added(client, settings, clock):
    settings.KYC_WEBHOOK_REJECTED_PER_ADDRESS = 1
    settings.KYC_TRUSTED_PROXY_COUNT = 1
    assert forge(client, **{"X-Forwarded-For": "10.9.9.9, 192.0.2.1"}).status_code == 401
    assert forge(client, **{"X-Forwarded-For": "192.0.2.2"}).status_code == 401
    assert forge(client, **{"X-Forwarded-For": "10.8.8.8, 192.0.2.1"}).status_code == 429
    assert sorted(InboundEvent.objects.values_list("remote_addr", flat=True)) == ["192.0.2.1", "192.0.2.2"]
