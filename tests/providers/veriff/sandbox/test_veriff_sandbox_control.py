"""Control endpoints, the expiry sweep and the management command (providers/veriff/README.md, "The
sandbox")."""

import datetime as dt
import io
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone

from providers.veriff.sandbox.models import SandboxSession

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session(api):
    return api.create_session(vendorData="customer-7", person={"firstName": "Sarah", "lastName": "Morgan"})


def age(session: dict, days: float) -> None:
    """Make a session look `days` old: the sandbox's clock is the creation time."""
    SandboxSession.objects.filter(id=session["id"]).update(
        created_at=timezone.now() - dt.timedelta(days=days)
    )


@pytest.mark.parametrize(
    ("status", "codes", "reason_code"),
    [
        ("approved", [7001, 7002, 9001], None),
        ("declined", [7001, 7002, 9102], 102),
        ("resubmission_requested", [7001, 7002, 9103], 204),
        ("review", [7001, 7002, 9121], None),
        ("abandoned", [7001, 9104], None),
        ("expired", [9104], None),
    ],
)
def test_forced_decision_walks_the_session_like_the_hosted_page(
    api, control, session, webhooks, status, codes, reason_code
):
    response = control.decide(session["id"], status=status)

    assert response.status_code == 200
    assert webhooks.codes() == codes
    decision = response.json()
    assert decision == webhooks.bodies()[-1]
    assert decision["verification"]["status"] == status
    assert decision["verification"]["reasonCode"] == reason_code


def test_forced_decision_keeps_the_given_reason_code(control, session, webhooks):
    response = control.decide(session["id"], status="declined", reasonCode=106)
    assert response.json()["verification"]["reasonCode"] == 106


def test_expired_decision_has_no_media_and_no_invented_identity(api, control, session, webhooks):
    decision = control.decide(session["id"], status="expired").json()["verification"]

    assert decision["person"]["firstName"] == "Sarah"
    assert decision["document"]["number"] is None
    media = api.get(f"/sessions/{session['id']}/media", session["id"]).json()
    assert media == {"status": "success", "videos": [], "images": []}


def test_forced_decision_after_the_user_started_sends_only_what_is_missing(api, control, session, webhooks):
    api.client.get(api.local(session["url"]))
    control.decide(session["id"], status="approved")
    assert webhooks.codes() == [7001, 7002, 9001]


def test_review_can_still_be_decided(control, session, webhooks):
    control.decide(session["id"], status="review")
    response = control.decide(session["id"], status="approved")
    assert response.status_code == 200
    assert webhooks.codes() == [7001, 7002, 9121, 9001]


def test_forcing_a_decision_on_a_decided_session_is_409(control, session, webhooks):
    control.decide(session["id"], status="approved")
    response = control.decide(session["id"], status="declined")
    assert response.status_code == 409
    assert webhooks.codes() == [7001, 7002, 9001]


def test_forcing_a_decision_on_an_unknown_session_is_404(control):
    assert control.decide(str(uuid.uuid4()), status="approved").status_code == 404
    assert control.decide("not-a-uuid", status="approved").status_code == 404


@pytest.mark.parametrize(
    "data",
    [
        {"status": "started"},
        {},
        {"status": "declined", "reasonCode": 204},
        {"status": "resubmission_requested", "reasonCode": 101},
        {"status": "approved", "reasonCode": 101},
    ],
)
def test_forced_decision_with_a_bad_body_is_400(control, session, webhooks, data):
    assert control.decide(session["id"], **data).status_code == 400
    assert webhooks.codes() == []


def test_expire_endpoint_expires_a_session_never_started(control, session, webhooks):
    response = control.expire(session["id"])
    assert response.status_code == 200
    assert response.json()["verification"]["status"] == "expired"
    assert webhooks.codes() == [9104]


def test_expire_endpoint_abandons_a_started_session(api, control, session, webhooks):
    api.client.get(api.local(session["url"]))
    response = control.expire(session["id"])
    assert response.json()["verification"]["status"] == "abandoned"
    assert webhooks.codes() == [7001, 9104]


def test_expire_endpoint_on_a_decided_session_is_409(control, session, webhooks):
    control.decide(session["id"], status="approved")
    assert control.expire(session["id"]).status_code == 409


def test_sweep_expires_sessions_older_than_seven_days(api, control, webhooks):
    never_started = api.create_session(vendorData="a")
    started = api.create_session(vendorData="b")
    fresh = api.create_session(vendorData="c")
    api.client.get(api.local(started["url"]))
    age(never_started, 7.1)
    age(started, 7.1)
    age(fresh, 6.9)

    response = control.sweep()

    assert response.status_code == 200
    swept = {row["id"]: row["status"] for row in response.json()["expired"]}
    assert swept == {never_started["id"]: "expired", started["id"]: "abandoned"}
    decisions = [b["verification"] for b in webhooks.bodies() if "verification" in b]
    assert {(d["id"], d["status"], d["code"]) for d in decisions} == {
        (never_started["id"], "expired", 9104),
        (started["id"], "abandoned", 9104),
    }
    assert SandboxSession.objects.get(id=fresh["id"]).status == "created"


def test_sweep_follows_the_sim_time_scale(api, control, webhooks, sandbox_settings):
    sandbox_settings.SIM_TIME_SCALE = 1 / (7 * 24 * 3600)  # seven days become one second
    session = api.create_session()
    age(session, 2 / (24 * 3600))

    swept = control.sweep().json()["expired"]

    assert swept == [{"id": session["id"], "status": "expired"}]


def test_a_stale_session_counts_as_expired_when_accessed(api, session, webhooks):
    age(session, 8)

    page = api.client.get(api.local(session["url"]))
    decision = api.get(f"/sessions/{session['id']}/decision", session["id"]).json()

    assert b"expired" in page.content.lower()
    assert decision["verification"]["status"] == "expired"
    assert webhooks.codes() == [9104]
    refused = api.submit(session["id"])
    assert refused.status_code == 400 and refused.json()["code"] == "1304"


def test_management_command_sweeps(api, webhooks):
    session = api.create_session()
    age(session, 30)
    out = io.StringIO()

    call_command("veriff_sandbox_sweep", stdout=out)

    assert f"{session['id']} expired" in out.getvalue()
    assert webhooks.codes() == [9104]


def test_webhook_log_lists_every_delivery_of_a_session(api, control, session, webhooks):
    other = api.create_session()
    control.decide(other["id"], status="approved")
    control.decide(session["id"], status="declined", reasonCode=105)

    log = control.log(session["id"])

    assert [row["kind"] for row in log] == ["event", "event", "decision"]
    assert [row["url"] for row in log] == [webhooks.events_url, webhooks.events_url, webhooks.decision_url]
    for row in log:
        assert row["session"] == session["id"]
        assert row["attempts"] == 1 and row["lastStatusCode"] == 200 and row["deliveredAt"]
        assert api.is_signed(row["headers"], row["body"].encode())
    assert [r.body for r in webhooks.requests[3:]] == [row["body"].encode() for row in log]
    assert len(control.log()) == 6


def test_webhook_log_refuses_a_bad_session_filter(client):
    assert client.get("/sandbox/veriff/control/webhooks", {"session": "x"}).status_code == 400


def test_redeliver_sends_the_same_signed_bytes_again(control, session, webhooks):
    control.decide(session["id"], status="approved")
    decision = control.log(session["id"])[-1]

    response = control.redeliver(decision["id"])

    assert response.status_code == 200
    assert response.json()["delivery"]["attempts"] == 2
    first, again = webhooks.requests[2], webhooks.requests[3]
    assert again.body == first.body
    assert again.headers["X-HMAC-SIGNATURE"] == first.headers["X-HMAC-SIGNATURE"]


def test_redeliver_unknown_delivery_is_404(control):
    assert control.redeliver(999999).status_code == 404
