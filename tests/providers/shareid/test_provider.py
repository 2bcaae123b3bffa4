"""ShareID behind the provider interface: configuration, sessions, the single-use launch, fetches,
media, words, and re-authentication (providers/shareid/provider.py)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache

from providers import base
from providers.base import MEDIA_INLINE, MediaItem, ProviderError, ProviderRateLimited
from providers.capabilities import DeclineReasonKinds, Reauthentication, capabilities_of
from providers.shareid import provider as shareid_module
from providers.shareid.provider import ShareIDProvider, sdk_token_key
from providers.shareid.sandbox import credentials as sandbox
from tests.providers.shareid.support import (
    APPLICANT,
    AUTH_FETCH,
    AUTH_FETCH_TOKEN,
    AUTH_START,
    FETCH,
    NOT_READY,
    START,
    calls_to,
    fetch_tokens,
    provider,
    result,
    session_request,
)

OTHER = "ap-20261203101500000-sim0-0123456789"


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


# -- configuration ------------------------------------------------------------------------------
def test_real_settings_have_no_problems():
    assert provider().configuration_problems() == []


def test_the_sandbox_url_and_credentials_are_named():
    sandboxed = provider(
        api_url="http://localhost:8000" + sandbox.BASE_PATH,
        sdk_url="http://localhost:8000" + sandbox.BASE_PATH + "/sdk/?token={token}",
        business_hash=sandbox.BUSINESS_HASH,
        api_key=sandbox.API_KEY,
    )
    problems = "\n".join(sandboxed.configuration_problems())
    for variable in ("SHAREID_API_URL", "SHAREID_SDK_URL", "SHAREID_BUSINESS_HASH", "SHAREID_API_KEY"):
        assert variable in problems
    assert len(sandboxed.configuration_problems()) == 4


def test_missing_settings_are_named():
    problems = provider(api_url="", sdk_url="", business_hash="", api_key="").configuration_problems()
    assert [p.split(" ")[0] for p in problems] == [
        "SHAREID_API_URL",
        "SHAREID_SDK_URL",
        "SHAREID_BUSINESS_HASH",
        "SHAREID_API_KEY",
    ]
    assert all("is empty" in p for p in problems)


def test_an_sdk_url_without_a_token_place_is_a_problem():
    assert provider(sdk_url="https://sdk.shareid.test/").configuration_problems() == [
        "SHAREID_SDK_URL has no {token}: the SDK page needs the onboarding's token"
    ]


def test_the_development_settings_point_at_the_sandbox(settings):
    dotted, options = settings.KYC_PROVIDERS["shareid"]
    assert dotted == "providers.shareid.provider.ShareIDProvider"
    assert len(ShareIDProvider(**options).configuration_problems()) == 4


@pytest.mark.parametrize(("configured", "seconds"), [(1.0, 5), (0, 5), (5.0, 5), (12.5, 12.5)])
def test_polling_is_never_more_often_than_every_5_seconds(configured, seconds):
    assert provider(poll_seconds=configured).poll_interval == dt.timedelta(seconds=seconds)


def test_the_session_lives_for_its_duration_and_the_callback_body_is_bounded():
    built = provider(session_duration=900, callback_max_bytes=1234)
    assert built.session_lifetime == dt.timedelta(seconds=900) and built.max_webhook_body == 1234
    assert provider().max_webhook_body == 40 * 1024 * 1024
    assert built.launch_per_visit and built.webhook_kinds == frozenset({""})


@pytest.mark.parametrize("duration", [299, 3601, 0])
def test_a_session_duration_shareid_refuses_stops_the_build(duration):
    with pytest.raises(ValueError, match="SHAREID_SESSION_DURATION"):
        provider(session_duration=duration)


def test_malformed_deliveries_are_answered_200_and_forged_401():
    answers = provider().webhook_answers
    assert answers[base.ANSWER_MALFORMED] == 200 and answers[base.ANSWER_FORGED] == 401


def test_it_has_the_capabilities_it_implements():
    built = provider()
    assert isinstance(built, DeclineReasonKinds) and isinstance(built, Reauthentication)
    assert capabilities_of(built) == {"DeclineReasonKinds", "Reauthentication"}


# -- sessions and launches -------------------------------------------------------------------------
def test_a_session_is_an_onboarding_and_its_token_is_kept_for_the_first_visit(shareid_api, shareid):
    shareid_api.post(START, json={"token": "sdk-1", "applicant_id": APPLICANT})
    request = session_request()
    created = shareid.create_session(request)
    assert created.provider_session_id == APPLICANT and created.url == ""
    assert "sdk-1" not in json.dumps(created.raw)  # a single-use secret is not kept with the session
    body = json.loads(shareid_api.calls[0].request.body)
    assert body["callback"] == request.notification_url and body["session_duration"] == 600
    assert body["customer_data"] == {"reference": request.reference}
    assert cache.get(sdk_token_key(APPLICANT))["token"] == "sdk-1"


def test_with_the_callback_off_shareid_is_given_none(shareid_api):
    shareid_api.post(START, json={"token": "sdk-1", "applicant_id": APPLICANT})
    provider(callback=False).create_session(session_request())
    assert "callback" not in json.loads(shareid_api.calls[0].request.body)


def test_the_first_visit_takes_the_kept_token_with_the_return_url(shareid_api, shareid):
    shareid_api.post(START, json={"token": "sdk/1+", "applicant_id": APPLICANT})
    request = session_request()
    before = dt.datetime.now(dt.UTC)
    shareid.create_session(request)
    launch = shareid.launch(APPLICANT)
    assert launch.url == (
        "https://sdk.shareid.test/?token=sdk%2F1%2B"
        "&return_url=https%3A%2F%2Fkyc.example%2Fflow%2Freturn%2F%3Fs%3D1"
    )
    assert launch.provider_session_id == ""  # the same applicant
    assert (
        before + dt.timedelta(seconds=600)
        <= launch.expires_at
        <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=600)
    )
    assert len(calls_to(shareid_api, START)) == 1


def test_a_later_visit_starts_a_new_onboarding(shareid_api, shareid):
    shareid_api.post(START, json={"token": "sdk-1", "applicant_id": APPLICANT})
    shareid_api.post(START, json={"token": "sdk-2", "applicant_id": OTHER})
    request = session_request()
    shareid.create_session(request)
    first = shareid.launch(APPLICANT, request=request)
    second = shareid.launch(APPLICANT, request=request)
    assert _token(first.url) == "sdk-1" and first.provider_session_id == ""
    assert _token(second.url) == "sdk-2" and second.provider_session_id == OTHER
    assert second.expires_at > dt.datetime.now(dt.UTC) + dt.timedelta(seconds=590)
    # The new onboarding's token is handed out now: nothing is kept for it.
    assert cache.get(sdk_token_key(OTHER)) is None
    started = [json.loads(c.request.body) for c in calls_to(shareid_api, START)]
    assert started[1]["customer_data"] == {"reference": request.reference}


def test_a_visit_without_a_token_or_a_request_is_a_transient_error(shareid_api, shareid):
    with pytest.raises(ProviderError) as raised:
        shareid.launch(APPLICANT)
    assert not raised.value.permanent and not shareid_api.calls


def test_two_visits_at_once_take_the_kept_token_once(shareid_api, shareid, monkeypatch):
    shareid_api.post(START, json={"token": "sdk-1", "applicant_id": APPLICANT})
    shareid_api.post(START, json={"token": "sdk-2", "applicant_id": OTHER})
    request = session_request()
    shareid.create_session(request)
    both_read = threading.Barrier(2, timeout=5)

    class ReadTogether:
        # Both visits read the kept token before either takes it: the race at its worst.
        def get(self, key, default=None):
            value = cache.get(key, default)
            both_read.wait()
            return value

        def __getattr__(self, name):
            return getattr(cache, name)

    monkeypatch.setattr(shareid_module, "cache", ReadTogether())
    launches = []

    def visit():
        launches.append(shareid.launch(APPLICANT, request=request))

    threads = [threading.Thread(target=visit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(_token(launch.url) for launch in launches) == ["sdk-1", "sdk-2"]
    assert sorted(launch.provider_session_id for launch in launches) == ["", OTHER]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "https://sdk.test/?token={token}",
            "https://sdk.test/?token=t%20k&return_url=https%3A%2F%2Fr%2F%3Fa%3Db",
        ),
        ("https://sdk.test/{token}", "https://sdk.test/t%20k?return_url=https%3A%2F%2Fr%2F%3Fa%3Db"),
        (
            "https://sdk.test/?r={return_url}&t={token}",
            "https://sdk.test/?r=https%3A%2F%2Fr%2F%3Fa%3Db&t=t%20k",
        ),
    ],
)
def test_the_sdk_link_follows_the_template(template, expected):
    assert provider(sdk_url=template).sdk_link("t k", "https://r/?a=b") == expected


def test_the_sdk_link_without_a_return_url_appends_nothing():
    assert provider().sdk_link("tok", "") == "https://sdk.shareid.test/?token=tok"


# -- fetches and media -----------------------------------------------------------------------------
def test_fetch_update_is_none_while_not_ready(shareid_api, shareid):
    fetch_tokens(shareid_api, "ft")
    shareid_api.post(FETCH, json=NOT_READY)
    assert shareid.fetch_update(APPLICANT) is None


def test_fetch_update_is_the_decision_with_its_images(shareid_api, shareid):
    fetch_tokens(shareid_api, "ft")
    shareid_api.post(FETCH, json=result(["doc_spoof"]))
    update = shareid.fetch_update(APPLICANT)
    assert update.status == base.DECLINED and update.decision.reason_code == "doc_spoof"
    assert len(update.media) == 4 and not update.hint


def test_fetch_update_lets_too_many_calls_through(shareid_api, shareid):
    fetch_tokens(shareid_api, "ft")
    shareid_api.post(FETCH, status=429, json={"detail": "too many calls"}, headers={"Retry-After": "5"})
    with pytest.raises(ProviderRateLimited) as raised:
        shareid.fetch_update(APPLICANT)
    assert raised.value.retry_after == 5.0


def test_a_result_for_another_applicant_is_an_error(shareid_api, shareid):
    fetch_tokens(shareid_api, "ft")
    shareid_api.post(FETCH, json=result(applicant_id=OTHER))
    with pytest.raises(ProviderError, match="another applicant"):
        shareid.fetch_update(APPLICANT)


def test_list_media_gives_the_images_inline(shareid_api, shareid):
    fetch_tokens(shareid_api, "ft")
    shareid_api.post(FETCH, json=NOT_READY)
    shareid_api.post(FETCH, json=result())
    assert shareid.list_media(APPLICANT) == []
    items = shareid.list_media(APPLICANT)
    assert {item.context for item in items} == {"document-front", "document-back", "face", "document-face"}
    assert all(item.source == MEDIA_INLINE and item.content for item in items)


def test_an_inline_item_cannot_be_opened():
    item = MediaItem(
        provider_media_id=f"{APPLICANT}:doc_front", context="document-front", source=MEDIA_INLINE
    )
    with pytest.raises(ProviderError) as raised:
        provider().open_media(item)
    assert raised.value.permanent


# -- words -----------------------------------------------------------------------------------------
def test_staff_get_words_for_every_reason_and_the_end_user_for_quality_ones_only():
    built = provider()
    assert built.explain_reason("face_fraud") == "The face is not the document holder's"
    assert built.explain_reason("unheard_of") == ""
    assert "four corners" in str(built.resubmission_message("no_doc"))
    assert str(built.resubmission_message("height_not_extracted"))  # any OCR failure
    for code in ("doc_spoof", "face_fraud", "analysis_failed", "unheard_of", ""):
        assert built.resubmission_message(code) == ""


def test_decline_kinds():
    built = provider()
    assert built.decline_reason_kind("multiple_faces") == base.DECLINE_FRAUD
    assert built.decline_reason_kind("no_face") == base.DECLINE_QUALITY
    assert built.decline_reason_kind("analysis_failed") == built.decline_reason_kind("new_one") == ""


# -- re-authentication -----------------------------------------------------------------------------
def test_a_reauthentication_starts_for_the_applicant_and_is_fetched_by_flow(shareid_api, shareid):
    shareid_api.post(AUTH_START, json={"token": "sdk-a", "flow_id": "flow-1"})
    fetch_tokens(shareid_api, "ft-a", url=AUTH_FETCH_TOKEN)
    shareid_api.post(AUTH_FETCH, json={"detail": "applicant not found"})
    shareid_api.post(
        AUTH_FETCH, json={"flow_id": "flow-1", "applicant_id": APPLICANT, "reasons": ["face_spoof"]}
    )
    started = shareid.authentication_start(
        APPLICANT, return_url="https://r/", notification_url="https://kyc/webhooks/shareid/?token=t"
    )
    assert started.flow_id == "flow-1" and _token(started.url) == "sdk-a"
    assert (
        json.loads(shareid_api.calls[0].request.body)["callback"] == "https://kyc/webhooks/shareid/?token=t"
    )
    assert shareid.authentication_fetch("flow-1") is None
    outcome = shareid.authentication_fetch("flow-1")
    assert not outcome.approved and outcome.reasons == ("face_spoof",)
    assert outcome.provider_session_id == APPLICANT and "Face printed" in outcome.reason


@pytest.mark.parametrize(
    ("reasons", "approved"), [([], True), (None, True), (["no_face"], False), ("x", False)]
)
def test_a_reauthentication_is_approved_only_without_reasons(shareid_api, shareid, reasons, approved):
    fetch_tokens(shareid_api, "ft-a", url=AUTH_FETCH_TOKEN)
    shareid_api.post(AUTH_FETCH, json={"flow_id": "flow-1", "applicant_id": APPLICANT, "reasons": reasons})
    assert shareid.authentication_fetch("flow-1").approved is approved
