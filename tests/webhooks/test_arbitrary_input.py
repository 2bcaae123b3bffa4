"""Whatever is posted to the webhook views, signed or not, the answer is never a 5xx: an authentic
body we cannot read is stored as malformed (400), anything else is refused with a 4xx.
Property-based (Hypothesis, the "ci" profile of tests/conftest.py: a fixed, derandomized budget)."""

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.providers_config import veriff_signature_headers
from webhooks.models import InboundEvent

URLS = ("/webhooks/veriff/decision/", "/webhooks/veriff/events/")

pytestmark = pytest.mark.django_db

# Text with what breaks storage and parsing: NUL, unpaired surrogates, other control characters.
text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)
# Numbers spelled as Python's json reads them but no field can hold.
wild_numbers = st.sampled_from(["1e999", "-1e999", "1E400", "NaN", "Infinity", "-0", "1" * 5000, "9" * 30])
statuses = st.sampled_from(["approved", "declined", "resubmission_requested", "review", "expired", "x"])


def _dumps(value) -> bytes:
    return json.dumps(value).encode()  # NaN and Infinity become the non-JSON tokens, on purpose


decision = st.fixed_dictionaries(
    {
        "verification": st.fixed_dictionaries(
            {"id": st.uuids().map(str) | text | json_values, "status": statuses | json_values},
            optional={"code": json_values, "person": json_values, "decisionTime": text | json_values},
        )
    },
    optional={"status": text},
).map(_dumps)
event = st.fixed_dictionaries(
    {"id": st.uuids().map(str) | text | json_values},
    optional={"code": st.sampled_from([7001, 7002]) | json_values, "action": text, "attemptId": json_values},
).map(_dumps)
# A wild number where Veriff puts its code.
wild_code = st.tuples(st.uuids(), wild_numbers).map(
    lambda t: b'{"id": "%s", "code": %s}' % (str(t[0]).encode(), t[1].encode())
)
wild_decision = st.tuples(st.uuids(), wild_numbers).map(
    lambda t: (
        b'{"verification": {"id": "%s", "status": "approved", "code": %s}}'
        % (str(t[0]).encode(), t[1].encode())
    )
)
# Nesting from shallow to far past the interpreter's recursion limit.
deep = st.tuples(
    st.sampled_from([(b"[", b"]"), (b'{"a": ', b"}"), (b'{"verification": ', b"}")]), st.integers(1, 100_000)
).map(lambda t: t[0][0] * t[1] + b"1" + t[0][1] * t[1])
bodies = st.one_of(
    json_values.map(_dumps), decision, event, wild_code, wild_decision, deep, st.binary(max_size=200)
)


def post(client, url: str, body: bytes, headers: dict):
    return client.post(url, data=body, content_type="application/json", headers=headers)


@given(url=st.sampled_from(URLS), body=bodies)
def test_a_signed_delivery_is_stored_or_refused_never_a_5xx(client, settings, url, body):
    headers = veriff_signature_headers(settings, body)
    response = post(client, url, body, headers)
    assert response.status_code in (200, 400), response.content
    key = f"veriff:{hashlib.sha256(body).hexdigest()}"
    if response.status_code == 400:  # kept as malformed, under a key of its own
        stored = InboundEvent.objects.get(dedupe_key=f"malformed:{key}")
        assert stored.state == InboundEvent.State.MALFORMED
    else:
        stored = InboundEvent.objects.get(dedupe_key=key)
    assert bytes(stored.body) == body  # authentic: kept whole, readable or not


@given(
    url=st.sampled_from(URLS),
    body=bodies,
    headers=st.dictionaries(
        st.sampled_from(["X-AUTH-CLIENT", "X-HMAC-SIGNATURE", "X-SIGNATURE", "User-Agent", "Content-Type"]),
        st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80),
        max_size=5,
    ),
)
def test_an_unsigned_delivery_is_refused_never_a_5xx(client, url, body, headers):
    response = post(client, url, body, headers)
    assert response.status_code in (401, 429), response.content
