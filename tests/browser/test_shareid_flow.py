"""ShareID in headless Chromium against the live stack (gunicorn, a Celery worker, the ShareID
sandbox over HTTP, the stack's `poll_sessions` process: tests/support/servers.py): the end user goes from
the start link through the sandbox's SDK page and back to our return page, where the decision
appears once the result is fetched; a reload of the flow page after the SDK token was spent gets a
fresh one; leaving without finishing offers to continue; quality reasons come back in words.
Screenshots in /tmp/shareid-shots/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from kyc import status as st
from kyc.links import start_url
from kyc.models import AuditEvent, VerificationSession
from kyc.services import customers, sessions
from providers.shareid.provider import RESUBMISSION_MESSAGES
from tests.providers_config import with_options
from tests.support.servers import wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(240),
]

TIMEOUT_MS = 30_000
# The sandbox's analysis (5 s), then a fetch no sooner than 5 s after the last one.
DECISION_MS = 45_000
SHOTS = Path("/tmp/shareid-shots")
SDK_PAGE = re.compile(r".*/sandbox/shareid/sdk/\?token=[^&]+&return_url=.*")


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.fixture(autouse=True)
def shareid_live(live_stack, live_settings):
    """The test process builds ShareID's URLs as the served app does (its sandbox on the stack)."""
    sandbox = f"{live_stack.base_url}/sandbox/shareid"
    with_options(live_settings, "shareid", api_url=sandbox, sdk_url=sandbox + "/sdk/?token={token}")


def applicant(app: str, applicant_id: str) -> dict:
    response = requests.get(f"{app}/sandbox/shareid/control/applicants/{applicant_id}", timeout=10)
    response.raise_for_status()
    return response.json()


def shareid_customer(ref: str, first: str, last: str):
    return customers.customer_create(
        external_ref=ref, first_name=first, last_name=last, email=f"{ref.lower()}@example.com", country="FR"
    )


def open_flow(chromium, customer):
    """The end user follows the start link they were sent (the business chose ShareID for them:
    the API's {"provider": "shareid"}), and lands on the SDK page."""
    context = chromium.new_context(locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(start_url(customer.pk))
    page.get_by_role("button", name="Start verification").click()
    # Either at once or after the "preparing…" page has waited for the onboarding.
    page.wait_for_url(SDK_PAGE)
    assert "Verify your identity" in page.inner_text("h1")
    return page


def test_end_user_through_the_sdk_page_back_to_the_return_page_and_the_decision(chromium, live_stack, shots):
    app = live_stack.base_url
    customer = shareid_customer("BR-SHAREID-USER", "Camille", "Sandbox")
    session = sessions.verification_start(customer=customer, provider="shareid", actor_label="backend")

    page = open_flow(chromium, customer)
    session = VerificationSession.objects.get(pk=session.pk)
    applicant_id = session.provider_session_id
    assert applicant_id.startswith("ap-") and applicant_id in page.inner_text("main")
    page.screenshot(path=str(shots / "1-sdk-page.png"), full_page=True)

    page.get_by_role("button", name="Approve: every check passes").click()
    page.wait_for_url(f"{app}/verify/return/{session.reference}/")
    page.wait_for_selector('[data-status="submitted"]')
    assert "We are checking your documents" in page.inner_text("main")
    page.screenshot(path=str(shots / "2-return-submitted.png"), full_page=True)
    session.refresh_from_db()
    assert session.status == st.SUBMITTED
    assert AuditEvent.objects.filter(
        session=session, action="session.status_changed", actor_label="end-user", after__status=st.SUBMITTED
    ).exists()

    # A reload of the flow page before the result: the return page, not a new onboarding over
    # the finished one (whose result would then never be fetched).
    page.goto(f"{app}/verify/s/{session.reference}/")
    page.wait_for_url(f"{app}/verify/return/{session.reference}/")
    session.refresh_from_db()
    assert session.provider_session_id == applicant_id

    # The page follows the status by itself: the poller's fetch brings the approval.
    page.wait_for_selector('[data-status="approved"]', timeout=DECISION_MS)
    assert "You are verified" in page.inner_text("main")
    page.screenshot(path=str(shots / "3-return-approved.png"), full_page=True)
    session.refresh_from_db()
    assert session.status == st.APPROVED and session.customer.kyc_status == "verified"
    state = applicant(app, applicant_id)
    assert state["completed"] and state["fetch_count"] >= 1 and state["rate_limited_count"] == 0
    page.context.close()


def test_a_reload_after_the_token_was_spent_leaving_and_reasons_in_words(chromium, live_stack, shots):
    app = live_stack.base_url
    customer = shareid_customer("BR-SHAREID-RELOAD", "Dominique", "Lefebvre")
    session = sessions.verification_start(customer=customer, provider="shareid", actor_label="backend")
    page = open_flow(chromium, customer)
    spent = page.url

    # The SDK token is spent by that page: a reload of our flow page gets a fresh one.
    page.goto(f"{app}/verify/s/{session.reference}/")
    page.wait_for_url(SDK_PAGE)
    assert page.url != spent
    assert "Verify your identity" in page.inner_text("h1") and "already used" not in page.inner_text("main")
    page.screenshot(path=str(shots / "4-sdk-page-after-reload.png"), full_page=True)
    # The spent link itself is refused by the sandbox, as ShareID would.
    assert requests.get(spent, timeout=10).status_code == 410

    # Leaving without finishing: back on our page, which offers to continue.
    page.get_by_role("button", name="Leave without finishing").click()
    page.wait_for_url(f"{app}/verify/return/{session.reference}/?left=1")
    assert "You left before the end of your verification" in page.inner_text("main")
    page.screenshot(path=str(shots / "5-return-left.png"), full_page=True)
    session.refresh_from_db()
    assert session.status == st.CREATED

    page.get_by_role("link", name="Continue my verification").click()
    page.wait_for_url(SDK_PAGE)
    session.refresh_from_db()
    applicant_id = session.provider_session_id
    page.check("#reason-no_doc")
    page.check("#reason-face_insufficient_quality")
    page.screenshot(path=str(shots / "6-sdk-page-reasons.png"), full_page=True)
    page.get_by_role("button", name="Reject with the reasons ticked").click()
    page.wait_for_url(f"{app}/verify/return/{session.reference}/")

    page.wait_for_selector('[data-status="resubmission_requested"]', timeout=DECISION_MS)
    shown = [text.strip() for text in page.locator('[data-testid="reason"]').all_inner_texts()]
    assert shown == [
        str(RESUBMISSION_MESSAGES["no_doc"]),
        str(RESUBMISSION_MESSAGES["face_insufficient_quality"]),
    ]
    assert "no_doc" not in page.inner_text("main")  # words, never codes
    page.screenshot(path=str(shots / "7-return-reasons.png"), full_page=True)
    assert applicant(app, applicant_id)["reasons"] == ["no_doc", "face_insufficient_quality"]

    # "Try again": a new onboarding on the same case.
    page.get_by_role("link", name="Try again").click()
    page.wait_for_url(SDK_PAGE)
    session = wait_until(
        lambda: VerificationSession.objects.filter(pk=session.pk, status=st.STARTED).first(),
        message="the new attempt",
    )
    assert session.provider_session_id != applicant_id
    page.context.close()
