"""ShareID's client at the HTTP boundary: the starts, the fetch tokens shared through the cache, the
fetches decided by their body, and the errors (providers/shareid/client.py)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import requests
from django.core.cache import cache
from django.core.cache.backends import locmem

from providers.base import ProviderError, ProviderRateLimited
from providers.shareid.client import ShareIDClient
from tests.providers.shareid.support import (
    API,
    APPLICANT,
    AUTH_FETCH,
    AUTH_FETCH_TOKEN,
    AUTH_START,
    FETCH,
    FETCH_TOKEN,
    NOT_READY,
    OPTIONS,
    START,
    calls_to,
    fetch_tokens,
    result,
)


def _client(**changes) -> ShareIDClient:
    options = {k: OPTIONS[k] for k in ("api_url", "business_hash", "api_key", "timeout")}
    return ShareIDClient(**{**options, **changes})


def _body(call) -> dict:
    return json.loads(call.request.body)


def _bearers(mock, url: str = FETCH) -> list[str]:
    return [call.request.headers["Authorization"] for call in calls_to(mock, url)]


# -- the onboarding start ------------------------------------------------------------------------
def test_the_onboarding_start_sends_our_reference_only_with_document_capture_on(shareid_api):
    shareid_api.post(START, json={"token": "sdk-1", "applicant_id": APPLICANT})
    started = _client().start_onboarding(
        reference="ref-1", callback="https://kyc.example/webhooks/shareid/?token=t", session_duration=900
    )
    assert started == {"token": "sdk-1", "applicant_id": APPLICANT}
    assert _body(shareid_api.calls[0]) == {
        "business_hash": "2915ac99",
        "api_key": "fl-00ea000defabc",
        "customer_data": {"reference": "ref-1"},
        "methods": ["doc", "face"],
        "callback": "https://kyc.example/webhooks/shareid/?token=t",
        "callback_with_document_capture": True,
        "advanced_verification": False,
        "session_duration": 900,
    }
    assert shareid_api.calls[0].request.headers["Content-Type"] == "application/json"


def test_the_onboarding_start_without_a_callback_sends_none(shareid_api):
    shareid_api.post(START, json={"token": "sdk-1", "applicant_id": APPLICANT})
    _client().start_onboarding(reference="ref-1", callback="", session_duration=600)
    assert "callback" not in _body(shareid_api.calls[0])


def test_the_start_path_is_configurable(shareid_api):
    alias = f"{API}/flow/onboarding/auth_business"
    shareid_api.post(alias, json={"token": "sdk-1", "applicant_id": APPLICANT})
    _client(onboarding_start_path="/flow/onboarding/auth_business").start_onboarding(
        reference="r", session_duration=600
    )
    assert [c.request.url for c in shareid_api.calls] == [alias]


@pytest.mark.parametrize("status", [500, 503])
def test_a_failed_onboarding_start_is_not_sent_again(shareid_api, status):
    # Not idempotent: a second start would make a second applicant.
    shareid_api.post(START, status=status, json={"detail": "boom"})
    with pytest.raises(ProviderError) as raised:
        _client().start_onboarding(reference="r", session_duration=600)
    assert not raised.value.permanent and raised.value.status_code == status
    assert len(calls_to(shareid_api, START)) == 1


def test_an_unreachable_api_is_a_transient_error(shareid_api):
    shareid_api.post(START, body=requests.ConnectionError("refused"))
    with pytest.raises(ProviderError) as raised:
        _client().start_onboarding(reference="r", session_duration=600)
    assert not raised.value.permanent and "unreachable" in str(raised.value)


@pytest.mark.parametrize(
    ("status", "permanent"), [(401, True), (422, True), (404, True), (408, False), (502, False)]
)
def test_errors_are_permanent_for_4xx_but_408(shareid_api, status, permanent):
    shareid_api.post(START, status=status, json={"detail": "invalid credentials"})
    with pytest.raises(ProviderError) as raised:
        _client().start_onboarding(reference="r", session_duration=600)
    assert raised.value.permanent is permanent and raised.value.status_code == status
    assert "invalid credentials" in str(raised.value)


@pytest.mark.parametrize(
    "answer", [{"token": "sdk"}, {"applicant_id": APPLICANT}, {"token": 1, "applicant_id": "a"}]
)
def test_a_start_answer_without_token_and_applicant_is_an_error(shareid_api, answer):
    shareid_api.post(START, json=answer)
    with pytest.raises(ProviderError, match="without token and applicant_id"):
        _client().start_onboarding(reference="r", session_duration=600)


def test_a_start_answer_that_is_not_json_is_an_error(shareid_api):
    shareid_api.post(START, body="<html>gateway</html>")
    with pytest.raises(ProviderError, match="not JSON"):
        _client().start_onboarding(reference="r", session_duration=600)


# -- fetch tokens --------------------------------------------------------------------------------
def test_the_fetch_token_request_carries_the_business_credentials(shareid_api):
    fetch_tokens(shareid_api, "ft-1")
    shareid_api.post(FETCH, json=NOT_READY)
    _client().fetch_onboarding(APPLICANT)
    assert _body(calls_to(shareid_api, FETCH_TOKEN)[0]) == {
        "business_hash": "2915ac99",
        "api_key": "fl-00ea000defabc",
    }
    assert _body(calls_to(shareid_api, FETCH)[0]) == {"applicant_id": APPLICANT}


def test_one_fetch_token_serves_many_fetches_and_two_clients(shareid_api):
    fetch_tokens(shareid_api, "ft-1", "ft-2")
    shareid_api.post(FETCH, json=NOT_READY)
    first, second = _client(), _client()  # two processes' clients share the cache
    for client in (first, second, first, second):
        assert client.fetch_onboarding(APPLICANT) is None
    assert len(calls_to(shareid_api, FETCH_TOKEN)) == 1
    assert _bearers(shareid_api) == ["Bearer ft-1"] * 4


def test_the_fetch_token_is_renewed_a_little_before_its_ten_minutes(shareid_api, monkeypatch):
    fetch_tokens(shareid_api, "ft-1", "ft-2")
    shareid_api.post(FETCH, json=NOT_READY)
    client = _client()
    client.fetch_onboarding(APPLICANT)
    now = locmem.time.time()
    # The shared cache's clock moves on: still the same token at 8 min 59 s, a new one at 9 min 01 s.
    monkeypatch.setattr(locmem, "time", SimpleNamespace(time=lambda: now + 539))
    client.fetch_onboarding(APPLICANT)
    monkeypatch.setattr(locmem, "time", SimpleNamespace(time=lambda: now + 541))
    client.fetch_onboarding(APPLICANT)
    assert _bearers(shareid_api) == ["Bearer ft-1", "Bearer ft-1", "Bearer ft-2"]


def test_a_401_on_a_fetch_renews_the_token_once_and_replays(shareid_api):
    fetch_tokens(shareid_api, "ft-old", "ft-new")
    shareid_api.post(FETCH, status=401, json={"detail": "invalid token"})
    shareid_api.post(FETCH, json=NOT_READY)
    client = _client()
    assert client.fetch_onboarding(APPLICANT) is None
    assert _bearers(shareid_api) == ["Bearer ft-old", "Bearer ft-new"]
    assert client.onboarding_tokens.token() == "ft-new"  # kept for the next fetches


def test_a_second_401_is_a_transient_error_not_a_third_token(shareid_api):
    fetch_tokens(shareid_api, "ft-1", "ft-2", "ft-3")
    shareid_api.post(FETCH, status=401, json={"detail": "invalid token"})
    with pytest.raises(ProviderError) as raised:
        _client().fetch_onboarding(APPLICANT)
    assert raised.value.status_code == 401 and not raised.value.permanent
    assert len(calls_to(shareid_api, FETCH_TOKEN)) == 2 and len(calls_to(shareid_api, FETCH)) == 2


def test_a_401_does_not_drop_a_token_another_process_already_renewed(shareid_api):
    fetch_tokens(shareid_api, "ft-old")
    client = _client()
    used = client.onboarding_tokens.token()
    cache.set(client.onboarding_tokens.key, "ft-renewed-elsewhere", 500)
    client.onboarding_tokens.drop(used)  # our late 401 on the old token
    assert client.onboarding_tokens.token() == "ft-renewed-elsewhere"


def test_wrong_credentials_at_the_token_endpoint_are_permanent(shareid_api):
    shareid_api.post(FETCH_TOKEN, status=401, json={"detail": "invalid credentials"})
    with pytest.raises(ProviderError) as raised:
        _client().fetch_onboarding(APPLICANT)
    assert raised.value.permanent and raised.value.status_code == 401
    assert not calls_to(shareid_api, FETCH)


def test_onboarding_and_authenticate_tokens_are_apart(shareid_api):
    fetch_tokens(shareid_api, "ft-onboarding")
    fetch_tokens(shareid_api, "ft-authenticate", url=AUTH_FETCH_TOKEN)
    shareid_api.post(FETCH, json=NOT_READY)
    shareid_api.post(AUTH_FETCH, json={"detail": "applicant not found"})
    client = _client()
    client.fetch_onboarding(APPLICANT)
    client.fetch_authenticate("flow-1")
    assert _bearers(shareid_api) == ["Bearer ft-onboarding"]
    assert _bearers(shareid_api, AUTH_FETCH) == ["Bearer ft-authenticate"]


# -- fetches -------------------------------------------------------------------------------------
def test_a_200_that_says_not_ready_is_not_a_result(shareid_api):
    fetch_tokens(shareid_api, "ft")
    shareid_api.post(FETCH, status=200, json={"detail": "applicant not found"})
    assert _client().fetch_onboarding(APPLICANT) is None


def test_a_ready_result_is_returned_whole(shareid_api):
    fetch_tokens(shareid_api, "ft")
    shareid_api.post(FETCH, json=result(["no_face"]))
    data = _client().fetch_onboarding(APPLICANT)
    assert data["applicant_id"] == APPLICANT and data["reasons"] == ["no_face"]


@pytest.mark.parametrize(
    "body",
    [
        {"reasons": [], "detail": "done"},  # reasons decide, whatever else is there
        {"applicant_id": APPLICANT, "reasons": None},
    ],
)
def test_a_body_with_a_result_is_ready_even_with_a_detail(shareid_api, body):
    fetch_tokens(shareid_api, "ft")
    shareid_api.post(FETCH, json=body)
    assert _client().fetch_onboarding(APPLICANT) == body


@pytest.mark.parametrize("body", [{}, {"applicant_id": None}, [], "ready"])
def test_a_body_that_is_neither_a_result_nor_not_ready_is_an_error(shareid_api, body):
    fetch_tokens(shareid_api, "ft")
    shareid_api.post(FETCH, json=body)
    with pytest.raises(ProviderError) as raised:
        _client().fetch_onboarding(APPLICANT)
    assert not raised.value.permanent


def test_too_many_calls_is_rate_limited_with_retry_after(shareid_api):
    fetch_tokens(shareid_api, "ft")
    shareid_api.post(FETCH, status=429, json={"detail": "too many calls"}, headers={"Retry-After": "4"})
    with pytest.raises(ProviderRateLimited) as raised:
        _client().fetch_onboarding(APPLICANT)
    assert raised.value.retry_after == 4.0 and not raised.value.permanent
    assert len(calls_to(shareid_api, FETCH)) == 1  # not replayed: that would be another 429


def test_too_many_calls_without_retry_after_has_none(shareid_api):
    fetch_tokens(shareid_api, "ft")
    shareid_api.post(FETCH, status=429, json={"detail": "too many calls"})
    with pytest.raises(ProviderRateLimited) as raised:
        _client().fetch_onboarding(APPLICANT)
    assert raised.value.retry_after is None


def test_a_fetch_5xx_is_transient_and_not_replayed(shareid_api):
    fetch_tokens(shareid_api, "ft")
    shareid_api.post(FETCH, status=503)
    with pytest.raises(ProviderError) as raised:
        _client().fetch_onboarding(APPLICANT)
    assert not raised.value.permanent and len(calls_to(shareid_api, FETCH)) == 1


def test_the_fetch_path_is_configurable(shareid_api):
    fetch_tokens(shareid_api, "ft", url=f"{API}/v2/token")
    shareid_api.post(f"{API}/v2/result", json=NOT_READY)
    client = _client(onboarding_fetch_token_path="/v2/token", onboarding_fetch_path="/v2/result")
    assert client.fetch_onboarding(APPLICANT) is None


# -- the authenticate flow -------------------------------------------------------------------------
def test_the_authenticate_start_names_the_applicant(shareid_api):
    shareid_api.post(AUTH_START, json={"token": "sdk-a", "flow_id": "0b8f…"})
    assert _client().start_authenticate(applicant_id=APPLICANT, callback="https://k/cb?token=t") == {
        "token": "sdk-a",
        "flow_id": "0b8f…",
    }
    assert _body(shareid_api.calls[0]) == {
        "business_hash": "2915ac99",
        "api_key": "fl-00ea000defabc",
        "applicant_id": APPLICANT,
        "callback": "https://k/cb?token=t",
    }


def test_an_unknown_applicant_to_authenticate_is_permanent(shareid_api):
    shareid_api.post(AUTH_START, status=404, json={"detail": "applicant not found"})
    with pytest.raises(ProviderError) as raised:
        _client().start_authenticate(applicant_id="ap-unknown")
    assert raised.value.permanent and raised.value.status_code == 404


def test_an_authenticate_result_is_fetched_by_flow_id(shareid_api):
    fetch_tokens(shareid_api, "ft-a", url=AUTH_FETCH_TOKEN)
    shareid_api.post(AUTH_FETCH, json={"detail": "applicant not found"})
    shareid_api.post(AUTH_FETCH, json={"flow_id": "f-1", "applicant_id": APPLICANT, "reasons": []})
    client = _client()
    assert client.fetch_authenticate("f-1") is None
    assert client.fetch_authenticate("f-1") == {"flow_id": "f-1", "applicant_id": APPLICANT, "reasons": []}
    assert _body(calls_to(shareid_api, AUTH_FETCH)[0]) == {"flow_id": "f-1"}


@pytest.mark.parametrize("method", ["fetch_onboarding", "fetch_authenticate"])
def test_an_empty_id_is_refused_before_any_call(shareid_api, method):
    with pytest.raises(ProviderError) as raised:
        getattr(_client(), method)("")
    assert raised.value.permanent and not shareid_api.calls
