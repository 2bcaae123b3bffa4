"""ShareID's callback at the provider: authenticated only by the token in its URL, read as a hint
whatever verdict it claims, its images kept and nothing else of the customer's data
(providers/shareid/provider.py, normalize.callback_update)."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.base import WebhookMalformed, WebhookRequest
from tests.providers.shareid.support import APPLICANT, JPEG, b64, provider, result


def _request(body: bytes | dict, query: dict | None = None) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return WebhookRequest(
        kind="",
        headers={"Content-Type": "application/json"},
        body=raw,
        query={"token": "t0k"} if query is None else query,
    )


def _callback(reasons=(), **extra) -> dict:
    return {**result(reasons), "customer_data": {"reference": "ref-1", "email": "sarah@example.com"}, **extra}


def test_the_token_is_read_from_the_query_string():
    shareid = provider()
    assert shareid.notification_token(_request(b"{}", {"token": "abc", "other": "x"})) == "abc"
    assert shareid.notification_token(_request(b"{}", {})) == ""  # missing: refused by the store


def test_nothing_is_checked_beyond_the_token():
    assert provider().authenticate_webhook(_request(b"not even json")) is None


@pytest.mark.parametrize("claimed", [[], ["doc_fraud"], ["no_face"], None])
def test_the_callback_is_a_hint_whatever_verdict_it_claims(claimed):
    [update] = provider().parse_webhook(_request(_callback(claimed)))
    assert update.hint and update.status is None and update.decision is None
    assert update.provider_session_id == APPLICANT and update.attempt_id == APPLICANT
    assert update.raw["reasons"] == claimed  # kept for inspection, never applied


def test_the_callbacks_images_are_kept_and_never_in_raw():
    [update] = provider().parse_webhook(_request(_callback()))
    assert {item.name for item in update.media} == {"doc_front", "doc_back", "face_face", "face_doc"}
    front = next(item for item in update.media if item.name == "doc_front")
    assert front.content == JPEG and front.provider_media_id == f"{APPLICANT}:doc_front"
    assert b64(JPEG) not in json.dumps(update.raw) and set(update.raw["document"]) == {"type", "ocr"}


def test_only_our_reference_is_kept_of_the_customer_data():
    [update] = provider().parse_webhook(_request(_callback()))
    assert update.raw["customer_data"] == {"reference": "ref-1"}
    [update] = provider().parse_webhook(_request(_callback(customer_data={"reference": 7, "x": "y"})))
    assert update.raw["customer_data"] == {}


def test_a_callback_without_images_has_no_media():
    body = _callback()
    for field in ("doc_front", "doc_back", "face_face", "face_doc"):
        body["document"][field] = None
    [update] = provider().parse_webhook(_request(body))
    assert update.media == ()


def test_the_same_bytes_are_the_same_delivery():
    shareid, body = provider(), json.dumps(_callback()).encode()
    key = shareid.webhook_dedupe_key(_request(body))
    assert key == f"shareid:callback:{hashlib.sha256(body).hexdigest()}"
    assert shareid.webhook_dedupe_key(_request(body, {"token": "another"})) == key
    assert shareid.webhook_dedupe_key(_request(body + b" ")) != key
    [update] = shareid.parse_webhook(_request(body))
    assert update.dedupe_key == key


def test_the_session_id_is_read_without_the_images():
    assert provider().webhook_session_id(_request(_callback())) == APPLICANT
    assert (
        provider().webhook_session_id(_request({"applicant_id": "  ap-1 ", "document": {"doc_front": "%%"}}))
        == "ap-1"
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'"ap-1"',
        b"null",
        b'{"reasons": []}',
        b'{"applicant_id": 12}',
        b'{"applicant_id": ""}',
        b'{"applicant_id": "ap\\u0000x"}',
        b'{"applicant_id": "ap-1", "n": 1e999}',
        b'{"applicant_id": "ap-1", "n": NaN}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"applicant_id": "ap-\xff"}',
    ],
)
def test_a_body_we_cannot_read_is_malformed(body):
    shareid = provider()
    with pytest.raises(WebhookMalformed):
        shareid.parse_webhook(_request(body))
    with pytest.raises(WebhookMalformed):
        shareid.webhook_session_id(_request(body))


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
_bodies = st.one_of(
    st.binary(max_size=200),
    st.builds(
        lambda applicant, reasons, document, extra: json.dumps(
            {"applicant_id": applicant, "reasons": reasons, "document": document, **extra}
        ).encode(),
        st.sampled_from([APPLICANT, "", None, 5, "ap-\u0000"]) | st.text(max_size=30),
        _json_values,
        _json_values
        | st.fixed_dictionaries(
            {"doc_front": st.text(max_size=40) | st.none(), "ocr": _json_values, "type": _json_values}
        ),
        st.dictionaries(st.text(max_size=10), _json_values, max_size=3),
    ),
)


@given(body=_bodies)
def test_any_body_is_a_hint_or_malformed_never_a_crash(body):
    shareid = provider()
    try:
        updates = shareid.parse_webhook(_request(body))
    except WebhookMalformed:
        return
    [update] = updates
    assert update.hint and update.status is None and update.decision is None
    assert update.provider_session_id and update.provider_session_id.isprintable()
    assert shareid.webhook_session_id(_request(body)) == update.provider_session_id
    assert all(item.content for item in update.media)
    json.dumps(update.raw)  # storable as it is
