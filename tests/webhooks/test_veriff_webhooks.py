"""The Veriff webhook path through the real view: the seed's vectors and its "Testing security"
checklist. Tasks run in-process (no broker), so a delivery is stored and applied in the request."""

import json

import pytest
from django.urls import reverse

from kyc.models import ProviderDecision, VerificationSession
from providers.base import WebhookMalformed
from providers.registry import get_provider
from tests.factories import SessionFactory
from tests.providers_config import veriff_options, veriff_signature_headers, with_options
from tests.webhooks import seed_vectors as sv
from webhooks.models import InboundEvent
from webhooks.services import inbound_event_replay

DECISION_URL = "/webhooks/veriff/decision/"
EVENTS_URL = "/webhooks/veriff/events/"

# Real commits, so that the processing queued "after commit" runs as it does in production.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("veriff_without_media")]


@pytest.fixture
def seed_decision_integration(settings):
    with_options(
        settings,
        "veriff",
        api_key=sv.DECISION_9103_KEY,
        api_secret=sv.DECISION_9103_SECRET,
        signature_scheme="legacy",
    )


@pytest.fixture
def seed_listener_integration(settings):
    with_options(
        settings,
        "veriff",
        api_key=sv.LISTENER_9001_KEY,
        api_secret=sv.LISTENER_9001_SECRET,
        signature_scheme="legacy",
    )


def post(client, url, body: bytes, **headers):
    return client.post(url, data=body, content_type="application/json", headers=headers)


# --- the seed's examples ----------------------------------------------------------------------
def test_seed_decision_example_is_accepted_and_applied(client, seed_decision_integration):
    session = SessionFactory(provider_session_id=sv.DECISION_9103_SESSION_ID)
    response = post(
        client,
        DECISION_URL,
        sv.DECISION_9103_BODY,
        **{"X-AUTH-CLIENT": sv.DECISION_9103_KEY, "X-SIGNATURE": sv.DECISION_9103_SIGNATURE},
    )
    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert event.authenticated and event.state == InboundEvent.State.PROCESSED
    assert bytes(event.body) == sv.DECISION_9103_BODY  # kept verbatim, spaces after colons included
    session.refresh_from_db()
    assert session.status == "resubmission_requested"
    decision = session.decisions.get()
    assert (decision.code, decision.reason) == (9103, "Photos are not from the same document.")
    assert decision.document["number"] == "AA0052283"


def test_seed_listener_example_is_accepted_and_applied(client, seed_listener_integration):
    session = SessionFactory(provider_session_id=sv.LISTENER_9001_SESSION_ID)
    response = post(
        client,
        DECISION_URL,
        sv.LISTENER_9001_BODY,
        **{"X-AUTH-CLIENT": sv.LISTENER_9001_KEY, "X-SIGNATURE": sv.LISTENER_9001_SIGNATURE},
    )
    assert response.status_code == 200
    session.refresh_from_db()
    assert session.status == "approved"
    assert session.customer.kyc_status == "verified"


def test_current_hmac_scheme_accepts_the_derived_vector(client, settings, seed_decision_integration):
    with_options(settings, "veriff", signature_scheme="hmac")
    SessionFactory(provider_session_id=sv.DECISION_9103_SESSION_ID)
    response = post(
        client,
        DECISION_URL,
        sv.DECISION_9103_BODY,
        **{"X-AUTH-CLIENT": sv.DECISION_9103_KEY, "X-HMAC-SIGNATURE": sv.DECISION_9103_HMAC},
    )
    assert response.status_code == 200
    # …and under the current scheme the legacy header alone is not enough.
    response = post(
        client,
        DECISION_URL,
        sv.LISTENER_9001_BODY,
        **{"X-AUTH-CLIENT": sv.DECISION_9103_KEY, "X-SIGNATURE": sv.DECISION_9103_SIGNATURE},
    )
    assert response.status_code == 401


# --- Testing security -------------------------------------------------------------------------
@pytest.mark.parametrize("position", [0, 100, 612])
def test_body_with_one_byte_changed_is_rejected_and_never_applied(
    client, seed_decision_integration, position
):
    session = SessionFactory(provider_session_id=sv.DECISION_9103_SESSION_ID)
    body = bytearray(sv.DECISION_9103_BODY)
    body[position] ^= 0x01
    response = post(
        client,
        DECISION_URL,
        bytes(body),
        **{"X-AUTH-CLIENT": sv.DECISION_9103_KEY, "X-SIGNATURE": sv.DECISION_9103_SIGNATURE},
    )
    assert response.status_code == 401
    event = InboundEvent.objects.get()
    assert (event.authenticated, event.state, event.dedupe_key) == (False, "rejected", None)
    session.refresh_from_db()
    assert session.status == "created" and not ProviderDecision.objects.exists()


@pytest.mark.parametrize("key", ["", "8e4f7cd8-7a19-4d7d-971f-a076407ee03d", "Your-API-Key"])
def test_decision_with_wrong_api_key_is_rejected(client, seed_decision_integration, key):
    SessionFactory(provider_session_id=sv.DECISION_9103_SESSION_ID)
    response = post(
        client,
        DECISION_URL,
        sv.DECISION_9103_BODY,
        **{"X-AUTH-CLIENT": key, "X-SIGNATURE": sv.DECISION_9103_SIGNATURE},
    )
    assert response.status_code == 401
    assert not ProviderDecision.objects.exists()


def test_missing_signature_is_rejected(client, seed_decision_integration):
    response = post(client, DECISION_URL, sv.DECISION_9103_BODY, **{"X-AUTH-CLIENT": sv.DECISION_9103_KEY})
    assert response.status_code == 401


def _signed(body: bytes, settings) -> dict[str, str]:
    return veriff_signature_headers(settings, body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"status":"success","verification":{"id":',  # cut short
        b"\xff\xfe not even text",
        b"[1, 2, 3]",
        b'{"status":"success","verification":"approved"}',
        b'{"status":"success","verification":{"status":"approved"}}',  # no session id
        b'{"code": 7001}',  # an event without a session id
        b"",
    ],
)
def test_authentic_but_malformed_body_is_a_400_and_kept_for_inspection(client, settings, body):
    response = post(client, DECISION_URL, body, **_signed(body, settings))
    assert response.status_code == 400
    assert response.json()["status"] == "fail"
    event = InboundEvent.objects.get()
    assert event.state == InboundEvent.State.MALFORMED and event.authenticated
    assert bytes(event.body) == body


@pytest.mark.parametrize(
    ("url", "body"),
    [
        # A number that reads as infinity (int() of it raised OverflowError: a 500, not stored).
        (DECISION_URL, b'{"verification": {"id": "s-1", "status": "approved", "code": 1e999}}'),
        (EVENTS_URL, b'{"id": "s-1", "code": 1e999, "action": "started"}'),
        (EVENTS_URL, b'{"id": "s-1", "code": NaN, "action": "started"}'),
        # Nested 100,000 deep (RecursionError: a 500, not stored).
        (EVENTS_URL, b"[" * 100_000 + b"]" * 100_000),
        (DECISION_URL, b'{"verification": ' * 100_000 + b"{}" + b"}" * 100_000),
        # A session id no database column can hold.
        (EVENTS_URL, b'{"id": "s\\u0000", "code": 7001}'),
        (DECISION_URL, b'{"verification": {"id": "s\\udc00", "status": "approved"}}'),
    ],
    ids=[
        "decision-1e999",
        "event-1e999",
        "event-NaN",
        "list-100000-deep",
        "object-100000-deep",
        "nul-id",
        "surrogate-id",
    ],
)
def test_authentic_body_that_crashed_the_parser_is_a_400_kept_once_and_replayable(
    client, settings, url, body
):
    response = post(client, url, body, **_signed(body, settings))
    assert response.status_code == 400
    assert response.json()["status"] == "fail"
    event = InboundEvent.objects.get()
    assert (event.state, event.authenticated) == (InboundEvent.State.MALFORMED, True)
    assert bytes(event.body) == body and event.error
    # The provider resends what it was refused (hourly, for a week): the same bytes, kept once.
    assert post(client, url, body, **_signed(body, settings)).status_code == 400
    event = InboundEvent.objects.get()
    assert event.duplicates == 1
    # Kept for a replay (once the provider package reads it: until then it fails, with its reason).
    assert inbound_event_replay(event_id=event.pk)
    event.refresh_from_db()
    assert event.state == InboundEvent.State.FAILED and "WebhookMalformed" in event.error


def test_a_malformed_event_replayed_once_readable_is_applied(client, settings, monkeypatch):
    session = SessionFactory()
    body = event_body(session.provider_session_id, 7001)
    monkeypatch.setattr(
        "providers.veriff.normalize.event_update",
        lambda data: (_ for _ in ()).throw(WebhookMalformed("not understood yet")),
    )
    assert post(client, EVENTS_URL, body, **_signed(body, settings)).status_code == 400
    event = InboundEvent.objects.get()
    assert (event.state, event.provider_session_id) == (InboundEvent.State.MALFORMED, "")
    monkeypatch.undo()  # the provider package is fixed
    assert inbound_event_replay(event_id=event.pk)
    event.refresh_from_db()
    assert (event.state, event.provider_session_id) == ("processed", session.provider_session_id)
    session.refresh_from_db()
    assert session.status == "started"


def test_a_malformed_delivery_resent_once_readable_is_stored_and_applied(client, settings, monkeypatch):
    session = SessionFactory()
    body = event_body(session.provider_session_id, 7001)
    monkeypatch.setattr(
        "providers.veriff.normalize.event_update",
        lambda data: (_ for _ in ()).throw(WebhookMalformed("not understood yet")),
    )
    assert post(client, EVENTS_URL, body, **_signed(body, settings)).status_code == 400
    monkeypatch.undo()  # the provider package is fixed; the provider's hourly resend comes
    assert post(client, EVENTS_URL, body, **_signed(body, settings)).status_code == 200
    assert sorted(InboundEvent.objects.values_list("state", flat=True)) == ["malformed", "processed"]
    session.refresh_from_db()
    assert session.status == "started"


def test_wrong_http_method_and_unknown_provider_are_refused(client):
    assert client.get(DECISION_URL).status_code == 405
    assert (
        client.post("/webhooks/nosuch/decision/", data=b"{}", content_type="application/json").status_code
        == 404
    )
    assert (
        client.post("/webhooks/veriff/nosuch/", data=b"{}", content_type="application/json").status_code
        == 404
    )


# --- delivery semantics -----------------------------------------------------------------------
def decision_body(
    session_id: str,
    status="approved",
    code=9001,
    attempt="att-1",
    decision_time="2026-01-01T10:00:00Z",
    **extra,
) -> bytes:
    verification = {
        "id": session_id,
        "attemptId": attempt,
        "code": code,
        "status": status,
        "reason": None,
        "reasonCode": None,
        "person": {"firstName": "SARAH", "lastName": "MORGAN"},
        "document": {"type": "PASSPORT", "number": "X1", "country": "GB"},
        "decisionTime": decision_time,
        **extra,
    }
    return json.dumps({"status": "success", "verification": verification}).encode()


def event_body(session_id: str, code: int, attempt="att-1") -> bytes:
    action = {7001: "started", 7002: "submitted"}[code]
    return json.dumps(
        {
            "id": session_id,
            "attemptId": attempt,
            "feature": "selfid",
            "code": code,
            "action": action,
            "vendorData": "x",
        }
    ).encode()


def test_duplicate_delivery_is_a_2xx_and_applied_once(client, settings):
    session = SessionFactory()
    body = decision_body(session.provider_session_id)
    for _ in range(3):
        assert post(client, DECISION_URL, body, **_signed(body, settings)).status_code == 200
    event = InboundEvent.objects.get()
    assert event.duplicates == 2
    assert session.decisions.count() == 1
    assert session.audit_events.filter(action="session.status_changed").count() == 1


def test_events_then_decision_walk_the_status_machine(client, settings):
    session = SessionFactory()
    sid = session.provider_session_id
    seen = []
    for url, body in (
        (EVENTS_URL, event_body(sid, 7001)),
        (EVENTS_URL, event_body(sid, 7002)),
        (DECISION_URL, decision_body(sid)),
    ):
        assert post(client, url, body, **_signed(body, settings)).status_code == 200
        session.refresh_from_db()
        seen.append(session.status)
    assert seen == ["started", "submitted", "approved"]
    assert session.started_at and session.submitted_at and session.decided_at
    assert list(session.attempts.values_list("provider_attempt_id", "status")) == [("att-1", "approved")]


def test_late_events_never_move_a_conclusive_session_back(client, settings):
    session = SessionFactory()
    sid = session.provider_session_id
    for url, body in (
        (DECISION_URL, decision_body(sid)),
        (EVENTS_URL, event_body(sid, 7002)),
        (EVENTS_URL, event_body(sid, 7001)),
    ):
        assert post(client, url, body, **_signed(body, settings)).status_code == 200
    session.refresh_from_db()
    assert session.status == "approved"
    assert session.submitted_at is None  # the late 7002 was recorded, not applied


def test_an_older_decision_arriving_late_is_kept_but_not_applied(client, settings):
    session = SessionFactory()
    sid = session.provider_session_id
    newer = decision_body(
        sid, "resubmission_requested", 9103, attempt="att-1", decision_time="2026-01-01T10:05:00Z"
    )
    older = decision_body(sid, "declined", 9102, attempt="att-1", decision_time="2026-01-01T10:00:00Z")
    for body in (newer, older):
        assert post(client, DECISION_URL, body, **_signed(body, settings)).status_code == 200
    session.refresh_from_db()
    assert session.status == "resubmission_requested"
    assert sorted(session.decisions.values_list("code", "applied")) == [(9102, False), (9103, True)]


def test_resubmission_then_new_attempt_then_approval_on_the_same_session(client, settings):
    session = SessionFactory()
    sid = session.provider_session_id
    steps = [
        (EVENTS_URL, event_body(sid, 7001, "a1")),
        (EVENTS_URL, event_body(sid, 7002, "a1")),
        (DECISION_URL, decision_body(sid, "resubmission_requested", 9103, "a1", "2026-01-01T10:00:00Z")),
        (EVENTS_URL, event_body(sid, 7001, "a2")),
        (EVENTS_URL, event_body(sid, 7002, "a2")),
        (DECISION_URL, decision_body(sid, "approved", 9001, "a2", "2026-01-01T11:00:00Z")),
    ]
    statuses = []
    for url, body in steps:
        assert post(client, url, body, **_signed(body, settings)).status_code == 200
        session.refresh_from_db()
        statuses.append(session.status)
    assert statuses == ["started", "submitted", "resubmission_requested", "started", "submitted", "approved"]
    assert list(session.attempts.values_list("provider_attempt_id", "status")) == [
        ("a1", "resubmission_requested"),
        ("a2", "approved"),
    ]


def test_an_old_attempts_late_event_does_not_reopen_a_resubmitted_session(client, settings):
    session = SessionFactory()
    sid = session.provider_session_id
    for url, body in (
        (EVENTS_URL, event_body(sid, 7001, "a1")),
        (DECISION_URL, decision_body(sid, "resubmission_requested", 9103, "a1")),
        (EVENTS_URL, event_body(sid, 7002, "a1")),
    ):
        post(client, url, body, **_signed(body, settings))
    session.refresh_from_db()
    assert session.status == "resubmission_requested"


def test_webhook_for_a_session_not_yet_stored_waits_and_is_applied_once_it_exists(client, settings, customer):
    from kyc.services import provider_sessions
    from providers.base import CreatedSession

    session = VerificationSession.objects.create(customer=customer, provider="veriff")
    body = decision_body("not-yet-known")
    assert post(client, DECISION_URL, body, **_signed(body, settings)).status_code == 200
    event = InboundEvent.objects.get()
    assert event.state == InboundEvent.State.WAITING and event.provider_session_id == "not-yet-known"

    provider_sessions.session_attach_provider_session(
        session_id=session.pk,
        created=CreatedSession(provider_session_id="not-yet-known", url="https://x/v/t"),
    )
    event.refresh_from_db()
    session.refresh_from_db()
    assert event.state == InboundEvent.State.PROCESSED
    assert session.status == "approved"


def test_failed_processing_is_kept_visible_and_can_be_replayed(client, settings):
    from webhooks.services import inbound_event_replay

    session = SessionFactory()
    body = decision_body(session.provider_session_id)
    providers = settings.KYC_PROVIDERS
    veriff, headers = get_provider("veriff"), _signed(body, settings)
    # A real fault: the provider is missing from the configuration while the event is processed.
    settings.KYC_PROVIDERS = {}
    from webhooks.services import inbound_event_receive

    receipt = inbound_event_receive(
        provider=veriff,
        kind="decision",
        headers=headers,
        body=body,
        remote_addr="127.0.0.1",
    )
    assert receipt.status == 200
    event = InboundEvent.objects.get()
    assert event.state == InboundEvent.State.FAILED and "UnknownProvider" in event.error

    settings.KYC_PROVIDERS = providers
    assert inbound_event_replay(event_id=event.pk) is True
    event.refresh_from_db()
    session.refresh_from_db()
    assert event.state == InboundEvent.State.PROCESSED and event.attempts == 2
    assert session.status == "approved"
    assert inbound_event_replay(event_id=event.pk) is False  # processed events are not replayed


def test_stored_headers_keep_no_api_key(client, settings):
    body = decision_body("whatever")
    post(client, DECISION_URL, body, **_signed(body, settings))
    headers = InboundEvent.objects.get().headers
    assert veriff_options(settings).api_key not in json.dumps(headers)
    assert headers["X-AUTH-CLIENT"].startswith("sha256:")


def test_urls_match_the_design_contract():
    assert reverse("webhooks:receive", args=["veriff", "decision"]) == DECISION_URL
    assert reverse("webhooks:receive", args=["veriff", "events"]) == EVENTS_URL


# --- Testing responses (seed checklist): each type of response is accepted -------------------
@pytest.mark.parametrize(
    ("url", "body_for", "expected_status", "expected_kyc"),
    [
        (DECISION_URL, lambda sid: decision_body(sid, "approved", 9001), "approved", "verified"),
        (
            DECISION_URL,
            lambda sid: decision_body(
                sid, "declined", 9102, reasonCode=102, reason="Suspected document tampering"
            ),
            "declined",
            "rejected",
        ),
        (
            DECISION_URL,
            lambda sid: decision_body(sid, "resubmission_requested", 9103, reasonCode=204),
            "resubmission_requested",
            "action_required",
        ),
        # The seed lists Expired and Abandoned under the *event* endpoint: both shapes are understood there.
        (EVENTS_URL, lambda sid: decision_body(sid, "expired", 9104), "expired", "action_required"),
        (EVENTS_URL, lambda sid: decision_body(sid, "abandoned", 9104), "abandoned", "action_required"),
        (
            EVENTS_URL,
            lambda sid: json.dumps({"id": sid, "action": "abandoned"}).encode(),
            "abandoned",
            "action_required",
        ),
        (DECISION_URL, lambda sid: decision_body(sid, "review", 9121), "review", "in_review"),
        # Unknown statuses need a human, never count as success (providers/veriff/README.md,
        # "Statuses and codes").
        (DECISION_URL, lambda sid: decision_body(sid, "something_new", 9999), "review", "in_review"),
    ],
)
def test_each_type_of_response_is_accepted(client, settings, url, body_for, expected_status, expected_kyc):
    session = SessionFactory()
    body = body_for(session.provider_session_id)
    assert post(client, url, body, **_signed(body, settings)).status_code == 200
    session.refresh_from_db()
    assert session.status == expected_status
    assert session.customer.kyc_status == expected_kyc


def test_intermediate_positive_decisions_are_recorded_without_moving_the_session(client, settings):
    session = SessionFactory(status="submitted")
    body = decision_body(session.provider_session_id, "approved", 9151)
    assert post(client, DECISION_URL, body, **_signed(body, settings)).status_code == 200
    session.refresh_from_db()
    assert session.status == "submitted"
    assert session.decisions.get().code == 9151
