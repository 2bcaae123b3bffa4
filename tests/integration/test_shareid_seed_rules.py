"""ShareID's rules (its "Fetch Result" and "Callback" pages; providers/shareid/README.md) kept by the
live stack against the sandbox over HTTP: the fetch token reused within its life and renewed after,
never two fetches of one applicant within 5 s (the sandbox's 429 count stays zero), a 200 "not ready"
is not a result, and the callback is only a hint: answered 200 within 3000 ms, its body never
trusted, a wrong or missing token refused and kept as rejected, a replay harmless, and its images
kept when the fetch has none.

The sandbox's fetch tokens live SHAREID_FETCH_TOKEN_SECONDS here (tests/support/servers.py), not
ShareID's 10 minutes; its 5-second rule is real time.
"""

import json

import pytest
import requests

from kyc.models import VerificationSession
from providers.shareid.sandbox.models import FetchToken
from tests.support.servers import SHAREID_FETCH_TOKEN_SECONDS, wait_until
from tests.support.shareid import DECIDED_WITHIN, assert_evidence, start_and_launch
from tests.support.veriff import HTTP_TIMEOUT, session_in
from webhooks.models import InboundEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def post_callback(url: str, body: bytes) -> requests.Response:
    """A POST to the app's callback URL as ShareID makes it: JSON, nothing signed."""
    return requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=HTTP_TIMEOUT)


def fetches_of(shareid, applicant_id: str) -> int:
    return shareid.applicant(applicant_id)["fetch_count"]


def test_fetch_tokens_reused_then_renewed_and_not_ready_is_no_result(live_stack, shareid, shareid_user):
    """Three open sessions polled side by side for longer than a fetch token lives: one token for
    every fetch while it lives, one more once it expired (the app's fetch answered 401 once, then
    sent again with the new token), no fetch refused with 429, and the "not ready" 200s decided
    nothing until the results were made."""
    sessions = [start_and_launch(live_stack, shareid_user, f"IT-SHAREID-TOKENS-{i}")[0] for i in range(3)]
    applicants = [s.provider_session_id for s in sessions]

    first = wait_until(lambda: (s := shareid.stats())["fetches"] >= 6 and s, timeout=30, message="6 fetches")
    assert first["fetch_tokens_issued"] == 1, first  # every process shares the cached token
    renewed = wait_until(
        lambda: (s := shareid.stats())["fetch_tokens_issued"] >= 2 and s,
        timeout=SHAREID_FETCH_TOKEN_SECONDS + 15,
        message="a second fetch token",
    )
    # The second once the first had expired, not sooner.
    tokens = list(FetchToken.objects.order_by("issued_at"))
    assert len(tokens) == 2
    assert tokens[1].issued_at >= tokens[0].expires_at
    assert renewed["unauthorized"] >= 1, renewed
    # A 200 {"detail": "applicant not found"}, many times: no session decided.
    assert {s.status for s in VerificationSession.objects.filter(pk__in=[s.pk for s in sessions])} == {
        "created"
    }
    assert not any(s.decisions.exists() for s in sessions)

    for applicant_id in applicants:
        shareid.complete(applicant_id, [])
    for session in sessions:
        session_in(session.pk, "approved", timeout=DECIDED_WITHIN)
    end = shareid.stats()
    assert end["fetch_tokens_issued"] == 2, end
    assert end["fetches"] > 2 * len(sessions)
    assert end["rate_limited"] == 0, end  # never two fetches of one applicant within 5 s
    for applicant_id in applicants:
        assert shareid.applicant(applicant_id)["rate_limited_count"] == 0


def test_a_forged_callback_claiming_an_approval_changes_nothing(live_stack, shareid, shareid_user):
    """A body that claims an approval, POSTed to the session's real callback URL (the right token)
    while ShareID says "not ready": answered 200 within 3000 ms, kept, and only a fetch follows,
    which decides nothing; the real result, a fraud reason, declines."""
    session, _ = start_and_launch(live_stack, shareid_user, "IT-SHAREID-FORGED")
    applicant_id = session.provider_session_id
    url = shareid.applicant(applicant_id)["callback"]
    wait_until(lambda: fetches_of(shareid, applicant_id) >= 1, timeout=30, message="a first fetch")
    before = fetches_of(shareid, applicant_id)
    forged = {
        "applicant_id": applicant_id,
        "reasons": [],
        "customer_data": {"reference": str(session.reference)},
        "document": {"ocr": {"name": "CAMILLE", "surname": "SANDBOX"}},
    }
    answer = post_callback(url, json.dumps(forged).encode())
    assert answer.status_code == 200, answer.text
    assert answer.elapsed.total_seconds() < 3.0

    event = InboundEvent.objects.get(provider="shareid")
    assert event.authenticated and event.session_reference == str(session.reference)
    # The hint brought a fetch, which answered "not ready".
    wait_until(lambda: fetches_of(shareid, applicant_id) > before, timeout=15, message="the hint's fetch")
    wait_until(
        lambda: InboundEvent.objects.get(pk=event.pk).state == InboundEvent.State.PROCESSED,
        timeout=15,
        message="the callback processed",
    )
    session.refresh_from_db()
    assert session.status == "created"
    assert not session.decisions.exists()

    shareid.complete(applicant_id, ["doc_inject"])
    session = session_in(session.pk, "declined", timeout=DECIDED_WITHIN)
    assert list(session.decisions.values_list("status", "reason_code")) == [("declined", "doc_inject")]
    assert shareid.stats()["rate_limited"] == 0


def test_a_wrong_or_missing_token_is_refused_kept_as_rejected_and_changes_nothing(
    live_stack, shareid, shareid_user
):
    session, _ = start_and_launch(live_stack, shareid_user, "IT-SHAREID-TOKENLESS")
    applicant_id = session.provider_session_id
    url = shareid.applicant(applicant_id)["callback"]
    shareid.complete(applicant_id, ["doc_spoof"], delay=3600)  # made, never ready
    body = json.dumps({"applicant_id": applicant_id, "reasons": []}).encode()
    wrong = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    missing = url.partition("?")[0]
    for target in (wrong, missing):
        answer = post_callback(target, body)
        assert answer.status_code == 401, (target.partition("?")[0], answer.status_code)

    events = InboundEvent.objects.filter(provider="shareid")
    assert events.count() == 2
    assert {(e.state, e.authenticated) for e in events} == {(InboundEvent.State.REJECTED, False)}
    session.refresh_from_db()
    assert session.status == "created"
    assert not session.decisions.exists()
    # Nothing brought a fetch forward: the poller keeps its own pace (none within 5 s anyway).
    assert shareid.stats()["rate_limited"] == 0


def test_a_replayed_callback_is_harmless(live_stack, shareid, shareid_user):
    """ShareID's callback, then the same bytes again (its retry, or someone replaying it): one
    decision, the second delivery counted as a duplicate of the first."""
    session, _ = start_and_launch(live_stack, shareid_user, "IT-SHAREID-REPLAY")
    applicant_id = session.provider_session_id
    shareid.complete(applicant_id, [], delay=0)
    attempt = shareid.wait_callback_answered(applicant_id)
    assert (attempt["status_code"], attempt["error"]) == (200, "")
    assert attempt["duration_ms"] < 3000
    session = session_in(session.pk, "approved", timeout=DECIDED_WITHIN)

    event = InboundEvent.objects.get(provider="shareid")
    again = post_callback(attempt["url"], bytes(event.body))
    assert again.status_code == 200
    assert again.elapsed.total_seconds() < 3.0
    assert InboundEvent.objects.filter(provider="shareid").count() == 1
    event.refresh_from_db()
    assert event.duplicates == 1
    session = session_in(session.pk, "approved")
    assert session.decisions.count() == 1
    assert_evidence(session, [applicant_id])


def test_images_sent_only_in_the_callback_are_stored(live_stack, shareid, shareid_user):
    """ShareID's fetch has null images, its callback carries them (the sandbox's switch): the
    images are kept from the callback that carried the session's token, the verdict fetched."""
    shareid.faults(images_only_in_callback=True)
    session, sdk_url = start_and_launch(live_stack, shareid_user, "IT-SHAREID-CALLBACK-IMAGES")
    applicant_id = session.provider_session_id
    shareid_user.finish_sdk(sdk_url, "approve")
    attempt = shareid.wait_callback_answered(applicant_id)
    assert (attempt["status_code"], attempt["error"]) == (200, "")
    assert attempt["duration_ms"] < 3000
    session = session_in(session.pk, "approved", timeout=DECIDED_WITHIN)
    assert_evidence(session, [applicant_id])
