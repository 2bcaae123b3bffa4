"""Case work in headless Chromium against the live stack: an analyst claims the next case from the
queue, writes a comment, records a decision with "Record and go to next case" and lands on the
next case, assigned to them. Screenshots in test-results/."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from kyc.models import CaseComment, ReviewReason, VerificationSession
from kyc.services import customers, sessions
from tests.browser.test_backoffice import CSP_VIOLATIONS, sign_in, staff
from tests.support.servers import wait_until
from tests.support.veriff import media_stored, provider_media, session_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


def declined(sandbox, ref: str, name: str, hours_in_queue: float) -> VerificationSession:
    """A verification the Veriff sandbox declined (over HTTP, webhooks, media by the worker), in
    the queue for `hours_in_queue` hours."""
    first, last = name.split()
    customer = customers.customer_create(external_ref=ref, first_name=first, last_name=last, country="SE")
    session = sessions.verification_start(customer=customer, actor_label="end-user")
    session = wait_until(
        lambda: VerificationSession.objects.exclude(provider_session_id=None).filter(pk=session.pk).first(),
        timeout=30,
        message="the provider session created by the worker",
    )
    sandbox.decide(session.provider_session_id, "declined", 103)
    session = session_in(session.pk, "declined")
    media_stored(session, {m.provider_media_id for m in provider_media(session.provider_session_id)})
    VerificationSession.objects.filter(pk=session.pk).update(
        queued_at=timezone.now() - dt.timedelta(hours=hours_in_queue)
    )
    return session


def test_claim_next_comment_and_save_and_go_to_next(chromium, live_stack, sandbox, results_dir):
    app = live_stack.base_url
    oldest = declined(sandbox, "BRW-CW-1", "Olga Oldest", 80)
    newer = declined(sandbox, "BRW-CW-2", "Nils Newer", 2)
    analyst = staff("alice", "Analyst")

    page = sign_in(chromium, app, analyst)
    page.goto(f"{app}/admin/kyc/case/")
    # The SLA: the older case is overdue, in the queue's colours.
    row = page.locator("#result_list tbody tr", has_text="Olga Oldest")
    assert "overdue" in row.inner_text().lower()
    page.screenshot(path=str(results_dir / "casework-queue.png"), full_page=True)

    # Claim next: the oldest unassigned case, assigned and opened.
    page.click("#claim-next")
    page.wait_for_url(re.compile(rf".*/admin/kyc/case/{oldest.pk}/change/"))
    assert "The next case is assigned to you." in page.inner_text(".messagelist")
    assert page.inner_text("#case-assignee") == "alice"
    assert page.locator("#side-by-side img").count() == 2

    # A comment: in the thread at once, kept apart from the decision note.
    page.fill("#comment-body", "Called the customer; the document photo was taken in poor light.")
    page.click("#add-comment")
    assert "Comment added." in page.inner_text(".messagelist")
    assert "taken in poor light" in page.inner_text("#comments")
    page.screenshot(path=str(results_dir / "casework-comment.png"), full_page=True)
    assert CaseComment.objects.get().author == analyst

    # Save and go to next: the decision is recorded, the next case opens, assigned to the analyst.
    page.check("input[name=outcome][value=decline]")
    page.select_option("#id_reason", str(ReviewReason.objects.get(code="suspected-fraud").pk))
    page.fill("#id_note", "Agree with the provider: the face does not match the document photo.")
    page.click("#submit-review-next")
    page.wait_for_url(re.compile(rf".*/admin/kyc/case/{newer.pk}/change/"))
    message = page.inner_text(".messagelist")
    assert "Decision recorded" in message and "The next case is assigned to you." in message
    assert page.inner_text("#case-assignee") == "alice"
    page.screenshot(path=str(results_dir / "casework-next-case.png"), full_page=True)
    assert oldest.reviews.get().outcome == "decline"
    assert CSP_VIOLATIONS == []
    page.context.close()
