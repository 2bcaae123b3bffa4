"""Issue 12, rules 1–3, as the people involved see them, in headless Chromium against the live
stack (gunicorn, a Celery worker, the Veriff sandbox over HTTP): a fraud decline stays in the
queue after the customer starts again; a high-risk approval waits for a second person; a pending
override cannot be silently replaced by someone else's decision."""

from __future__ import annotations

import pytest

from kyc.links import start_url
from kyc.models import Customer, Review, ReviewReason, VerificationSession
from kyc.services import customers, sessions
from tests.browser.test_backoffice import csrf_post, sign_in, staff
from tests.support.servers import wait_until
from tests.support.veriff import session_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

TIMEOUT_MS = 30_000


def decided(sandbox, ref: str, status: str, reason: int | None = None, country: str = "GB"):
    """A customer whose first verification the Veriff sandbox decided so (the worker created the
    session at the sandbox and applied its webhooks)."""
    customer = customers.customer_create(
        external_ref=ref,
        first_name="Rita",
        last_name="Example",
        email=f"{ref.lower()}@example.com",
        country=country,
    )
    session = sessions.verification_start(customer=customer, actor_label="end-user")
    session = wait_until(
        lambda: VerificationSession.objects.exclude(provider_session_id=None).filter(pk=session.pk).first(),
        timeout=30,
        message="the provider session created by the worker",
    )
    sandbox.decide(session.provider_session_id, status, reason)
    return session_in(session.pk, status)


def end_user_page(chromium):
    context = chromium.new_context(locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def propose(page, outcome: str, reason_label: str, note: str) -> None:
    page.check(f"input[name=outcome][value={outcome}]")
    page.select_option("#id_reason", label=reason_label)
    page.fill("#id_note", note)
    page.click("#submit-review")


def test_a_fraud_decline_stays_in_the_queue_after_the_customer_restarts(
    chromium, live_stack, sandbox, results_dir
):
    app = live_stack.base_url
    declined = decided(sandbox, "BRW-FRAUD", "declined", 106)
    customer = declined.customer
    analyst = staff("alice", "Analyst")

    # The customer, back on the return page: no self-service restart after a fraud decline.
    user = end_user_page(chromium)
    user.goto(f"{app}/verify/return/{declined.reference}/")
    main = user.inner_text("main")
    assert "contact our support team" in main and "fraud" not in main.lower()
    assert user.get_by_role("button", name="Start a new verification").count() == 0
    user.screenshot(path=str(results_dir / "case-rules-fraud-return-page.png"), full_page=True)

    # They call support; the analyst starts a new session for them from the case page.
    page = sign_in(chromium, app, analyst)
    page.goto(f"{app}/admin/kyc/case/{declined.pk}/change/")
    page.get_by_role("button", name="Start a new session").click()
    page.wait_for_selector(".messagelist")
    new = customer.sessions.exclude(pk=declined.pk).get()
    wait_until(
        lambda: VerificationSession.objects.exclude(hosted_url="").filter(pk=new.pk).first(),
        timeout=30,
        message="the new provider session",
    )
    # The customer restarts through their link and is approved by the provider this time.
    user.goto(start_url(customer.pk))
    user.get_by_role("button", name="Start verification").click()
    user.wait_for_url("**/sandbox/veriff/v/**")
    user.get_by_role("button", name="Approve").click()
    user.wait_for_url("**/verify/return/**")
    session_in(new.pk, "approved")

    # Still in the queue, on the new session, with the decline shown beside it; not verified.
    assert Customer.objects.get(pk=customer.pk).kyc_status == "in_review"
    page.goto(f"{app}/admin/kyc/case/")
    row = page.locator("#result_list tbody tr", has_text="BRW-FRAUD")
    assert row.count() == 1 and "earlier decline open" in row.inner_text()
    row.locator("a").first.click()
    page.wait_for_selector("#earlier-results")
    assert page.url.endswith(f"/admin/kyc/case/{new.pk}/change/")
    earlier = page.inner_text("#earlier-results")
    assert "106 — Known fraud" in earlier and "open" in earlier
    assert "the customer was declined before" in page.inner_text("#four-eyes-notice")
    assert page.get_attribute("#customer-kyc-status", "data-status") == "in_review"
    page.screenshot(path=str(results_dir / "case-rules-fraud-decline-after-restart.png"), full_page=True)
    page.context.close()
    user.context.close()


def test_a_high_risk_approval_waits_for_a_second_person(chromium, live_stack, sandbox, results_dir):
    app = live_stack.base_url
    session = decided(sandbox, "BRW-RISK", "approved", country="IR")
    analyst = staff("alice", "Analyst")
    supervisor = staff("sam", "Supervisor")

    page = sign_in(chromium, app, analyst)
    page.goto(f"{app}/admin/kyc/case/{session.pk}/change/")
    # Said before the analyst submits.
    assert "high-risk country" in page.inner_text("#four-eyes-notice")
    assert "needs a second person" in page.inner_text("#review-form")
    propose(page, "approve", "Document and face checked manually: genuine", "Checked against the template.")
    assert "takes effect when a second person" in page.inner_text(".messagelist")
    assert page.get_attribute("#customer-kyc-status", "data-status") == "in_review"
    assert page.locator("#pending-override").is_visible() and page.locator("#confirm-override").count() == 0
    page.screenshot(path=str(results_dir / "case-rules-high-risk-approval-waiting.png"), full_page=True)
    review = Review.objects.get(session=session)
    assert (review.state, review.four_eyes) == ("awaiting_confirmation", ["held_by_policy"])

    boss = sign_in(chromium, app, supervisor)
    boss.goto(f"{app}/admin/kyc/case/{session.pk}/change/")
    boss.click("#confirm-step summary")  # a step of its own: a tick and a note of what was checked
    boss.check("#confirm-checked")
    boss.fill("#confirm-note", "Source of funds and the document checked against the registry.")
    boss.click("#confirm-override")
    assert "Approval confirmed" in boss.inner_text(".messagelist")
    assert boss.get_attribute("#customer-kyc-status", "data-status") == "verified"
    page.context.close()
    boss.context.close()


def test_a_pending_override_cannot_be_silently_replaced(chromium, live_stack, sandbox, results_dir):
    app = live_stack.base_url
    session = decided(sandbox, "BRW-LOCK", "declined", 103)
    analyst2 = staff("arthur", "Analyst")
    supervisor = staff("sam", "Supervisor")
    analyst = staff("alice", "Analyst")

    # analyst2 takes the case; the supervisor takes it over and proposes an override.
    second = sign_in(chromium, app, analyst2)
    second.goto(f"{app}/admin/kyc/case/{session.pk}/change/")
    second.click("#assign-me")
    boss = sign_in(chromium, app, supervisor)
    boss.goto(f"{app}/admin/kyc/case/{session.pk}/change/")
    boss.click("#take-over")
    assert "You took the case over" in boss.inner_text(".messagelist")
    propose(
        boss, "approve", "Additional evidence received (video call, proof of address)", "Video call held."
    )
    assert "Override proposed" in boss.inner_text(".messagelist")
    review = Review.objects.get(session=session)

    # A third person sees no decision form, and a POST past the page is refused with a reason.
    third = sign_in(chromium, app, analyst)
    third.goto(f"{app}/admin/kyc/case/{session.pk}/change/")
    assert third.locator("#review-form").count() == 0
    assert "must be confirmed, rejected or withdrawn" in third.inner_text("#decision-blocked")
    third.screenshot(path=str(results_dir / "case-rules-pending-override-locked.png"), full_page=True)
    reason = str(ReviewReason.objects.get(code="suspected-fraud").pk)
    url = f"{app}/admin/kyc/case/{session.pk}/do/propose/"
    assert csrf_post(third, url, {"outcome": "decline", "reason": reason, "note": "x"}) == 400
    assert Review.objects.count() == 1
    review.refresh_from_db()
    assert review.state == "awaiting_confirmation"
    assert Customer.objects.get(pk=session.customer_id).kyc_status == "rejected"

    # Only an explicit withdrawal frees the case: the proposer withdraws it.
    boss.goto(f"{app}/admin/kyc/case/{session.pk}/change/")
    boss.click("#withdraw-proposal")
    assert "Proposal withdrawn" in boss.inner_text(".messagelist")
    review.refresh_from_db()
    assert (review.state, review.withdrawn_by) == ("withdrawn", supervisor)
    assert boss.locator("#review-form").count() == 1
    for page in (second, boss, third):
        page.context.close()
