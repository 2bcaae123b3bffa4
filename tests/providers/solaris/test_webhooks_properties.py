"""Whatever is posted to /webhooks/solaris/, signed or not, the answer is never a 5xx, except the
503 that asks Solaris to deliver again a notification for a subscription we do not hold.
Property-based (Hypothesis, the "ci" profile of tests/conftest.py)."""

import pytest
from django.core.cache import cache
from hypothesis import given
from hypothesis import strategies as st

from providers.solaris import signing
from providers.solaris.models import WebhookSubscription
from tests.providers.solaris.hooks_support import (
    RECEIVER_PATH,
    eager_tasks,  # noqa: F401 (autouse fixture)
    subscription_keep,
)
from webhooks.models import InboundEvent

pytestmark = pytest.mark.django_db

KNOWN = {"IDENTIFICATION": "a" * 32, "PERSON_CHANGED": "b" * 32, "PERSON_DELETED": "c" * 32}
SECRET = "f82c389fb187274227186b5a58781978"

# Header text with what breaks parsing: control characters, non-Latin-1, "=" and spaces.
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=40)
event_types = st.sampled_from([*KNOWN, "WEBHOOK-SUBSCRIPTION", "BOOKING", ""]) | header_text
subscription_ids = st.sampled_from([*KNOWN.values(), "f" * 32, ""]) | header_text
bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"{}", b"[]", b"null", b'{"id": 1}', b'{"id": "x' + b"\xff" + b'"}']),
    st.builds(
        lambda i, url, status: (
            b'{"id": %s, "url": %s, "status": %s}' % (i.encode(), url.encode(), status.encode())
        ),
        st.sampled_from(['"9dfe2f4edaa67138be0c0c1cd3a7d849cidt"', '""', "null", "1e999", "[]"]),
        st.sampled_from(['"https://go.test.idnow.de/x"', "null", '"javascript:alert(1)"', "{}"]),
        st.sampled_from(['"successful"', '"pending_failed"', '"weird"', "null", "7"]),
    ),
    st.integers(1, 20_000).map(lambda n: b"[" * n + b"]" * n),
)


@given(
    body=bodies,
    event_type=event_types,
    subscription_id=subscription_ids,
    sign=st.sampled_from(["right", "wrong", "sha1", "missing", "garbage"]),
    entity=st.none() | header_text,
    webhook_id=st.none() | header_text,
)
def test_the_receiver_never_answers_5xx_but_for_an_unknown_subscription(
    client, body, event_type, subscription_id, sign, entity, webhook_id
):
    cache.clear()  # the rejected deliveries' budgets (webhooks/limits.py): full for each example
    # Kept once: the examples share the test's transaction.
    for kept_type, kept_id in KNOWN.items():
        if not WebhookSubscription.objects.filter(subscription_id=kept_id).exists():
            subscription_keep(kept_id, SECRET, event_type=kept_type)
    headers = {"Solaris-Webhook-Event-Type": event_type, "Solaris-Webhook-Subscription-Id": subscription_id}
    signature = {
        "right": signing.signature(body, SECRET),
        "wrong": signing.signature(body, "another secret"),
        "sha1": "sha1=" + signing.signature(body, SECRET)[7:47],
        "garbage": "sha256=ÿ not hex",
    }.get(sign)
    if signature is not None:
        headers["Solaris-Webhook-Signature"] = signature
    if entity is not None:
        headers["Solaris-Entity-Id"] = entity
    if webhook_id is not None:
        headers["Solaris-Webhook-Id"] = webhook_id
    response = client.post(RECEIVER_PATH, data=body, content_type="application/json", headers=headers)
    if response.status_code == 503:
        # Only a well-formed sha256 signature for a subscription we do not hold.
        assert subscription_id.strip() not in KNOWN.values() and sign in ("right", "wrong")
    else:
        assert response.status_code in (200, 422, 429), (response.status_code, response.content)
    if response.status_code == 200 and event_type.strip() != "WEBHOOK-SUBSCRIPTION":
        assert sign == "right" and InboundEvent.objects.filter(authenticated=True).exists()
