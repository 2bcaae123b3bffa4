"""Every ShareID outcome end to end on the live stack: a verification started through the REST API
with {"provider": "shareid"}, the worker starting the onboarding at the sandbox over HTTP, the end
user sent by our flow page to the sandbox's SDK page with a fresh single-use token, the poller
process (`manage.py poll_sessions`) fetching the result no more than every 5 s, the worker storing
the four images; the evidence on disk is byte for byte what the sandbox holds.

Each test runs twice: with ShareID's callback (a hint that brings the next fetch forward) and
without it (SHAREID_CALLBACK=false: polling alone decides). The setting is read once by each
process, so the stack is started again for the second round (LiveStack.restart).
"""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from kyc.models import Attempt, Media, VerificationSession
from providers.shareid.provider import RESUBMISSION_MESSAGES
from tests.support.servers import wait_until
from tests.support.shareid import DECIDED_WITHIN, assert_evidence, start_and_launch
from tests.support.veriff import HTTP_TIMEOUT, evidence_files, session_in
from webhooks.models import InboundEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


@pytest.fixture(scope="module", params=[True, False], ids=["callback-on", "callback-off"])
def callback(request, live_stack):
    """Whether the app gives ShareID its callback URL (SHAREID_CALLBACK) in this round."""
    if not request.param:
        live_stack.restart(SHAREID_CALLBACK="false")
    yield request.param
    if not request.param:
        live_stack.restart(SHAREID_CALLBACK="true")


def assert_callback(shareid, applicant_id: str, *, on: bool) -> None:
    """With the callback on: ShareID called our per-session URL, answered 200 within 3000 ms,
    stored as an authentic delivery; off: it was never given one, and nothing came."""
    at_shareid = shareid.applicant(applicant_id)
    if not on:
        assert at_shareid["callback"] == ""
        assert shareid.callbacks(applicant_id) == []
        assert not InboundEvent.objects.filter(provider="shareid").exists()
        return
    assert "/webhooks/shareid/?token=" in at_shareid["callback"]
    attempt = shareid.wait_callback_answered(applicant_id)
    assert (attempt["status_code"], attempt["error"]) == (200, ""), attempt
    assert attempt["duration_ms"] < 3000, attempt
    assert attempt["url"] == at_shareid["callback"]  # exactly as given, query string included
    event = InboundEvent.objects.get(provider="shareid", provider_session_id=applicant_id)
    assert event.authenticated and event.state != InboundEvent.State.REJECTED


@pytest.mark.parametrize(
    ("outcome", "reasons", "status", "kyc_status"),
    [
        pytest.param("approve", (), "approved", "verified", id="approval"),
        pytest.param("reject", ("doc_spoof", "no_face"), "declined", "rejected", id="decline-fraud"),
        pytest.param("reject", ("analysis_failed",), "review", None, id="review-analysis-failed"),
    ],
)
def test_outcome_decided_by_the_fetch_with_the_images_on_disk(
    live_stack, callback, shareid, shareid_user, outcome, reasons, status, kyc_status
):
    session, sdk_url = start_and_launch(live_stack, shareid_user, f"IT-SHAREID-{status}-{callback}")
    applicant_id = session.provider_session_id
    back = shareid_user.finish_sdk(sdk_url, outcome, reasons)
    assert back == f"{live_stack.base_url}/verify/return/{session.reference}/"
    assert shareid_user.http.get(back, timeout=HTTP_TIMEOUT).status_code == 200

    session = session_in(session.pk, status, timeout=DECIDED_WITHIN)
    if kyc_status:
        assert session.customer.kyc_status == kyc_status
    decision = session.decisions.filter(applied=True).get()
    assert decision.status == status
    # The deciding reason: fraud before technical before quality (providers/shareid/README.md).
    assert decision.reason_code == (reasons[0] if reasons else "")
    assert session.provider_session_id == applicant_id
    assert_evidence(session, [applicant_id])
    assert_callback(shareid, applicant_id, on=callback)
    # Never fetched twice within ShareID's 5 s.
    assert shareid.applicant(applicant_id)["rate_limited_count"] == 0


def test_resubmission_then_approval_on_the_same_case(live_stack, callback, shareid, shareid_user):
    """A quality reason asks the end user to try again: their next visit (the return page's
    "try again", our launch URL) starts a new onboarding on the same session, which is approved."""
    session, sdk_url = start_and_launch(live_stack, shareid_user, f"IT-SHAREID-RESUBMIT-{callback}")
    first = session.provider_session_id
    shareid_user.finish_sdk(sdk_url, "reject", ("no_doc",))
    session = session_in(session.pk, "resubmission_requested", timeout=DECIDED_WITHIN)

    page = shareid_user.http.get(
        f"{live_stack.base_url}/verify/return/{session.reference}/", timeout=HTTP_TIMEOUT
    )
    assert page.status_code == 200
    assert str(RESUBMISSION_MESSAGES["no_doc"]) in page.text.replace("&#x27;", "'")
    launch_url = f"/verify/s/{session.reference}/launch/"
    assert launch_url in page.text
    again = shareid_user.http.get(
        f"{live_stack.base_url}{launch_url}", allow_redirects=False, timeout=HTTP_TIMEOUT
    )
    assert again.status_code == 302, again.text[:500]
    session.refresh_from_db()
    second = session.provider_session_id
    assert second != first, "the second visit did not start a new onboarding"
    assert shareid.applicant(second)["customer_data"] == {"reference": str(session.reference)}
    shareid_user.finish_sdk(again.headers["Location"], "approve")

    session = session_in(session.pk, "approved", timeout=DECIDED_WITHIN)
    assert session.customer.kyc_status == "verified"
    assert list(session.decisions.order_by("received_at", "id").values_list("status", "reason_code")) == [
        ("resubmission_requested", "no_doc"),
        ("approved", ""),
    ]
    assert set(Attempt.objects.filter(session=session).values_list("provider_attempt_id", flat=True)) == {
        first,
        second,
    }
    rows = assert_evidence(session, [first, second])
    by_attempt = {m.attempt.provider_attempt_id for m in rows if m.attempt}
    assert by_attempt == {first, second}
    for applicant_id in (first, second):
        assert_callback(shareid, applicant_id, on=callback)
        assert shareid.applicant(applicant_id)["rate_limited_count"] == 0


def test_sessions_close_when_the_sdk_token_is_never_used_until_the_lifetime(
    live_stack, callback, shareid, shareid_user
):
    """Two end users reach our flow page and never open the SDK page (its token never used):
    ShareID answers "not ready" for ever, and the poller closes both past their lifetime. One had
    not begun at all: expired (kyc/operations/expiry.py: ShareID tells us of no start, and a session
    nobody started is expired, as Veriff's). The other had been asked to try again after a quality
    reason, and left: abandoned.

    The lifetime is moved, not waited for: the app's clock is real (SIM_TIME_SCALE scales only
    the sandboxes'), and ShareID's shortest session (300 s) plus the poller's grace for an analysis
    still running (KYC_POLL_LIFETIME_GRACE) would be twenty minutes. Each session's
    provider_created_at is set back past both, as if that time had gone by."""
    never, _ = start_and_launch(live_stack, shareid_user, f"IT-SHAREID-NEVER-{callback}")
    retried, sdk_url = start_and_launch(live_stack, shareid_user, f"IT-SHAREID-LEFT-{callback}")
    shareid_user.finish_sdk(sdk_url, "reject", ("no_face",))
    session_in(retried.pk, "resubmission_requested", timeout=DECIDED_WITHIN)
    again = shareid_user.http.get(
        f"{live_stack.base_url}/verify/s/{retried.reference}/launch/",
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    assert again.status_code == 302, again.text[:500]
    retried = session_in(retried.pk, "started")
    unused = [never.provider_session_id, retried.provider_session_id]
    # Polled, and "not ready", while the lifetime runs.
    for applicant_id in unused:
        wait_until(
            lambda a=applicant_id: shareid.applicant(a)["fetch_count"],
            timeout=DECIDED_WITHIN,
            message=f"a first fetch of {applicant_id}",
        )
    assert session_in(never.pk, "created").provider_session_id == unused[0]
    duration = shareid.applicant(unused[0])["session_duration"]
    lifetime = dt.timedelta(seconds=duration + settings.KYC_POLL_LIFETIME_GRACE + 60)
    VerificationSession.objects.filter(pk__in=[never.pk, retried.pk]).update(
        provider_created_at=timezone.now() - lifetime
    )

    never = session_in(never.pk, "expired", timeout=DECIDED_WITHIN)
    retried = session_in(retried.pk, "abandoned", timeout=DECIDED_WITHIN)
    for session, applicant_id in ((never, unused[0]), (retried, unused[1])):
        assert session.customer.kyc_status == "action_required"
        at_shareid = shareid.applicant(applicant_id)
        assert (at_shareid["sdk_token_used"], at_shareid["completed"]) == (False, False)
        assert shareid.callbacks(applicant_id) == []
        assert VerificationSession.objects.get(pk=session.pk).poll_next_at is None  # no longer polled
    assert not never.decisions.exists()
    assert not Media.objects.filter(session=never).exists()
    assert evidence_files(never) == []
