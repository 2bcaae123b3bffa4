"""ShareID's callback through the real receiving view (/webhooks/shareid/?token=…), ShareID's API at
the HTTP boundary: a known token is answered 200 and only a fetch decides; a wrong or missing
token is refused and kept as rejected."""

from __future__ import annotations

import json

import pytest

from tests.factories import SessionFactory
from tests.providers.shareid.support import (
    APPLICANT,
    FETCH,
    NOT_READY,
    OPTIONS,
    calls_to,
    fetch_tokens,
    result,
)
from tests.providers_config import with_options
from webhooks.models import InboundEvent
from webhooks.tokens import notification_token_make

pytestmark = pytest.mark.django_db

RECEIVER = "/webhooks/shareid/"


@pytest.fixture
def session(settings):
    with_options(
        settings, "shareid", **{k: OPTIONS[k] for k in ("api_url", "business_hash", "api_key", "sdk_url")}
    )
    settings.KYC_ALLOW_SANDBOX_PROVIDERS = True
    return SessionFactory(provider="shareid", provider_session_id=APPLICANT, hosted_url="")


def _post(client, body: dict, token: str | None):
    path = RECEIVER if token is None else f"{RECEIVER}?token={token}"
    return client.post(path, data=json.dumps(body), content_type="application/json")


def test_a_forged_approval_with_a_known_token_changes_nothing_while_shareid_says_not_ready(
    client, session, shareid_api
):
    fetch_tokens(shareid_api, "ft")
    shareid_api.post(FETCH, json=NOT_READY)
    token = notification_token_make(provider="shareid", reference=str(session.reference))
    status = session.status
    response = _post(client, result([]), token)
    assert response.status_code == 200
    event = InboundEvent.objects.get(provider="shareid")
    assert event.authenticated and event.provider_session_id == APPLICANT
    session.refresh_from_db()
    assert session.status == status and not session.decisions.exists()


@pytest.mark.parametrize("token", [None, "", "not-ours", "5b0f6c1e.0000"])
def test_a_wrong_or_missing_token_is_refused_and_kept_as_rejected(client, session, shareid_api, token):
    response = _post(client, result([]), token)
    assert response.status_code == 401
    event = InboundEvent.objects.get(provider="shareid")
    assert event.state == InboundEvent.State.REJECTED and not event.authenticated
    assert not calls_to(shareid_api, FETCH)
    session.refresh_from_db()
    assert not session.decisions.exists()


def test_a_malformed_body_with_a_known_token_is_answered_200_and_kept(client, session):
    token = notification_token_make(provider="shareid", reference=str(session.reference))
    response = client.post(f"{RECEIVER}?token={token}", data=b"{not json", content_type="application/json")
    assert response.status_code == 200
    assert InboundEvent.objects.get(provider="shareid").state == InboundEvent.State.MALFORMED


def test_a_replayed_callback_is_a_duplicate(client, session, shareid_api):
    fetch_tokens(shareid_api, "ft")
    shareid_api.post(FETCH, json=NOT_READY)
    token = notification_token_make(provider="shareid", reference=str(session.reference))
    body = result(["doc_fraud"])
    assert _post(client, body, token).status_code == 200
    assert _post(client, body, token).status_code == 200
    event = InboundEvent.objects.get(provider="shareid")
    assert event.duplicates == 1
