"""Solaris in headless Chromium against the live stack (gunicorn, a Celery worker, the Solaris
sandbox over HTTP, its signed notifications to /webhooks/solaris/): the end user goes from the
start link through the sandbox's IDnow-like page and back to our status page; an analyst finds a
Solaris case in the review queue by its provider and decides it, and sees a provisional verdict
(pending_*) as provisional. Screenshots in test-results/."""

from __future__ import annotations

import re

import pytest

from kyc.links import start_url
from kyc.models import Review, ReviewReason, VerificationSession
from kyc.services import customers, sessions
from tests.browser.test_backoffice import CSP_VIOLATIONS, images_rendered, sign_in, staff
from tests.browser.test_casework import declined as veriff_declined
from tests.support.solaris import provider_session
from tests.support.veriff import media_stored, session_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

TIMEOUT_MS = 30_000


def solaris_customer(ref: str, first: str = "Hannelore", last: str = "Brandt"):
    return customers.customer_create(
        external_ref=ref, first_name=first, last_name=last, email=f"{ref.lower()}@example.com", country="DE"
    )


def test_end_user_through_the_idnow_page_and_back_to_the_status_page(
    chromium, live_stack, solaris_subscribed, results_dir
):
    app = live_stack.base_url
    customer = solaris_customer("BR-SOLARIS-USER")
    # The business chose Solaris for this customer (the API's {"provider": "solaris"}); the end
    # user follows the start link they were sent, which resumes that verification.
    session = sessions.verification_start(customer=customer, provider="solaris", actor_label="backend")

    context = chromium.new_context(locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(start_url(customer.pk))
    page.get_by_role("button", name="Start verification").click()
    # Either at once or after the "preparing…" page has waited for the identification's link.
    page.wait_for_url(re.compile(r".*/sandbox/solaris/idnow/identifications/[0-9a-f]{32}cidt$"))
    session = VerificationSession.objects.get(pk=session.pk)
    assert page.url == session.hosted_url
    assert "Video identification" in page.inner_text("h1")
    page.screenshot(path=str(results_dir / "solaris-idnow-page.png"), full_page=True)

    page.get_by_role("button", name="Identified", exact=True).click()
    page.wait_for_selector("text=Identification finished")
    page.screenshot(path=str(results_dir / "solaris-idnow-finished.png"), full_page=True)
    session = session_in(session.pk, "approved")

    # IDnow's last page has no way back: the user opens our link again and lands on the result.
    page.goto(f"{app}/verify/s/{session.reference}/")
    page.wait_for_url(f"{app}/verify/return/{session.reference}/")
    page.wait_for_selector('[data-status="approved"]')
    assert "You are verified" in page.inner_text("main")
    page.screenshot(path=str(results_dir / "solaris-return-approved.png"), full_page=True)
    assert session.customer.kyc_status == "verified"
    context.close()


def test_the_status_page_follows_a_provisional_verdict_to_the_final_one(
    chromium, live_stack, solaris_subscribed, solaris_user, results_dir
):
    """IDnow identified the person, Solaris's review still open (pending_successful): the status
    page says we are checking, then turns to verified by itself when Solaris decides."""
    solaris = solaris_subscribed
    customer = solaris_customer("BR-SOLARIS-PROVISIONAL", "Ottokar", "Lindemann")
    session = provider_session(
        sessions.verification_start(customer=customer, provider="solaris", actor_label="backend").pk
    )
    solaris.outcome(session.provider_session_id, "pending_successful")
    session = session_in(session.pk, "submitted")

    context = chromium.new_context(locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{live_stack.base_url}/verify/return/{session.reference}/")
    page.wait_for_selector('[data-status="submitted"]')
    assert "We are checking your documents" in page.inner_text("main")
    page.screenshot(path=str(results_dir / "solaris-return-provisional.png"), full_page=True)

    solaris.outcome(session.provider_session_id, "successful")
    page.wait_for_selector('[data-status="approved"]', timeout=45_000)
    assert "You are verified" in page.inner_text("main")
    context.close()


def test_analyst_finds_the_solaris_case_by_provider_and_decides_it(
    chromium, live_stack, solaris_subscribed, sandbox, results_dir
):
    solaris = solaris_subscribed
    app = live_stack.base_url
    # A Solaris identification IDnow could not confirm (failed: declined, in the queue), IDnow's
    # files on our disk; one still at IDnow's verdict (pending_failed: provisional); a Veriff case
    # beside them in the queue.
    failed = provider_session(
        sessions.verification_start(
            customer=solaris_customer("BR-SOLARIS-FAILED", "Friedhelm", "Kowalczyk"),
            provider="solaris",
            actor_label="backend",
        ).pk
    )
    solaris.outcome(failed.provider_session_id, "failed")
    failed = session_in(failed.pk, "declined")
    media_stored(failed, {d["id"] for d in solaris.documents(failed.provider_session_id)})
    provisional = provider_session(
        sessions.verification_start(
            customer=solaris_customer("BR-SOLARIS-PENDING", "Ingeborg", "Pfeiffer"),
            provider="solaris",
            actor_label="backend",
        ).pk
    )
    solaris.outcome(provisional.provider_session_id, "pending_failed")
    provisional = session_in(provisional.pk, "submitted")
    veriff_declined(sandbox, "BR-SOLARIS-VERIFF", "Vera Veriffson", 1)
    analyst = staff("alice", "Analyst")

    page = sign_in(chromium, app, analyst)
    page.goto(f"{app}/admin/kyc/case/")
    assert page.locator("#result_list tbody tr", has_text="Vera Veriffson").count() == 1
    # The provider filter, as the analyst uses it: Veriff's case goes, Solaris's stays.
    page.locator("#changelist-filter a", has_text=re.compile(r"^\s*solaris\s*$", re.IGNORECASE)).click()
    page.wait_for_url(re.compile(r".*[?&]provider=solaris"))
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1 and "Friedhelm Kowalczyk" in rows.first.inner_text()
    assert "Declined" in rows.first.inner_text()
    page.screenshot(path=str(results_dir / "solaris-queue-filtered.png"), full_page=True)

    rows.first.locator("a").first.click()
    page.wait_for_url(re.compile(rf".*/admin/kyc/case/{failed.pk}/change/"))
    main = page.inner_text("#content-main")
    assert "solaris" in main.lower()
    # IDnow's files, really decoded by the browser through the audited media view.
    assert page.locator("img.bo-evidence-img").count() >= 3
    assert images_rendered(page)
    page.screenshot(path=str(results_dir / "solaris-case-failed.png"), full_page=True)

    # The analyst agrees with Solaris: declined, with a reason from the list.
    page.check("input[name=outcome][value=decline]")
    page.select_option("#id_reason", str(ReviewReason.objects.get(code="suspected-fraud").pk))
    page.fill("#id_note", "IDnow could not confirm the identity; the selfie does not match the ID card.")
    page.click("#submit-review")
    assert "Decision recorded" in page.inner_text(".messagelist")
    review = Review.objects.get(session=failed)
    assert (review.outcome, review.state, review.proposed_by) == ("decline", "effective", analyst)
    page.screenshot(path=str(results_dir / "solaris-case-decided.png"), full_page=True)

    # The provisional one: not in the queue (nothing to decide yet), its page says provisional.
    page.goto(f"{app}/admin/kyc/case/{provisional.pk}/change/")
    page.screenshot(path=str(results_dir / "solaris-case-provisional.png"), full_page=True)
    assert page.inner_text("#provisional-decision") == "Provisional: pending failed"
    assert "review is still open" in page.inner_text("#decisions")
    assert "A final decision needs the provider's result" in page.inner_text("#final-decision")
    assert CSP_VIOLATIONS == []
    page.context.close()
