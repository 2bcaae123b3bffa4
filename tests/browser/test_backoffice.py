"""The back-office in headless Chromium against the live stack (gunicorn and a Celery worker on
PostgreSQL, tests/support/): a case made by the Veriff sandbox over HTTP (webhooks, media
download by the worker); an analyst works the queue, sees the evidence rendered and proposes an
override; a supervisor confirms it and the customer's status changes; an auditor sees everything
and is refused every action; the media views are in the audit trail. (Two-factor sign-in in the
browser: test_backoffice_two_factor.py.)
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User

from kyc.models import AuditEvent, Customer, Review, ReviewReason, VerificationSession
from kyc.services import customers, sessions
from tests.kyc.conftest import ensure_roles_and_reasons
from tests.support.servers import wait_until
from tests.support.veriff import media_stored, provider_media, session_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

PASSWORD = "pw-browser-test-1234"
TIMEOUT_MS = 30_000
# Every evidence image on the page has loaded and has pixels (naturalWidth is 0 for a broken one).
# Checked once after the page's "load" (all images in): a polled wait_for_function would be eval'd
# in the page, which the Content-Security-Policy (no 'unsafe-eval') refuses.
ALL_IMAGES_RENDERED = (
    "[...document.querySelectorAll('img.bo-evidence-img')].every(i => i.complete && i.naturalWidth > 0)"
)


def images_rendered(page) -> bool:
    page.wait_for_load_state("load")
    return page.evaluate(ALL_IMAGES_RENDERED)


def staff(username: str, role: str) -> User:
    ensure_roles_and_reasons()
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def declined_case(sandbox) -> VerificationSession:
    """A customer whose verification the Veriff sandbox declined (103): the worker created the
    session at the sandbox, applied its webhooks and downloaded the evidence."""
    customer = customers.customer_create(
        external_ref="BRW-1", first_name="Greta", last_name="Mock", email="greta@example.com", country="SE"
    )
    session = sessions.verification_start(customer=customer, actor_label="end-user")
    session = wait_until(
        lambda: VerificationSession.objects.exclude(provider_session_id=None).filter(pk=session.pk).first(),
        timeout=30,
        message="the provider session created by the worker",
    )
    sandbox.decide(session.provider_session_id, "declined", 103)
    session = session_in(session.pk, "declined")
    media_stored(session, {m.provider_media_id for m in provider_media(session.provider_session_id)})
    assert Customer.objects.get(pk=customer.pk).kyc_status == "rejected"
    return session


CSP_VIOLATIONS: list[str] = []


def sign_in(browser, base: str, user: User):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    # The back-office works under the Content-Security-Policy: Chromium reports any violation here.
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and CSP_VIOLATIONS.append(message.text),
    )
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    return page


def csrf_post(page, url: str, data: dict | None = None) -> int:
    """A POST from the signed-in browser that bypasses the page's buttons (with its CSRF token)."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        url, form={"csrfmiddlewaretoken": token, **(data or {})}, headers={"Referer": url}
    )
    return response.status


def test_override_four_eyes_and_audit_in_the_browser(chromium, live_stack, sandbox, results_dir):
    app = live_stack.base_url
    session = declined_case(sandbox)
    customer = session.customer
    analyst = staff("alice", "Analyst")
    supervisor = staff("sam", "Supervisor")
    auditor = staff("audrey", "Auditor")

    # --- the analyst: works the queue, opens the case ---------------------------------------
    page = sign_in(chromium, app, analyst)
    page.click("#bo-queue-badge a >> text=Review queue")
    row = page.locator("#result_list tbody tr", has_text="Greta Mock")
    row.wait_for()
    assert row.count() == 1 and "Declined" in row.inner_text()
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "assign_to_me")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")
    assert "1 case(s) assigned to alice" in page.inner_text(".messagelist")
    page.locator("#result_list tbody tr", has_text="Greta Mock").locator("a").first.click()
    page.wait_for_url(re.compile(rf".*/admin/kyc/case/{session.pk}/change/"))

    # The document photos and the face are really rendered, through the audited media view.
    images = page.locator("img.bo-evidence-img")
    assert images.count() >= 3
    assert images_rendered(page)
    contexts = {images.nth(i).get_attribute("data-context") for i in range(images.count())}
    assert {"document-front", "document-back", "face"} <= contexts
    assert page.locator("video.bo-evidence-video").count() >= 1
    # Zoom: the overlay shows the image at a larger scale.
    page.locator("button.bo-zoomable").first.click()
    page.wait_for_selector("#bo-zoom:not([hidden])")
    assert page.evaluate(
        "new Promise(done => { const i = document.getElementById('bo-zoom-img');"
        " i.complete ? done(i.naturalWidth) : i.addEventListener('load', () => done(i.naturalWidth)); })"
    )
    page.click("[data-zoom=in]")
    assert page.locator("#bo-zoom").is_visible()
    page.click("[data-zoom=close]")

    # Propose an override: the provider declined, the analyst approves.
    page.check("input[name=outcome][value=approve]")
    page.select_option("#id_reason", label="Additional evidence received (video call, proof of address)")
    page.fill("#id_note", "Video call held; the face matches the document photo.")
    page.click("#submit-review")
    assert "Override proposed" in page.inner_text(".messagelist")
    page.screenshot(path=str(results_dir / "backoffice-override-proposed.png"), full_page=True)
    assert page.get_attribute("#customer-kyc-status", "data-status") == "rejected"
    assert page.locator("#pending-override").is_visible()
    assert page.locator("#confirm-override").count() == 0  # not for the proposer
    # Nor by a POST that bypasses the page: an analyst may not confirm.
    review = Review.objects.get(session=session)
    assert csrf_post(page, f"{app}/admin/kyc/case/{session.pk}/do/confirm/", {"review": review.pk}) == 403

    # --- the supervisor confirms: the override takes effect -------------------------------
    boss = sign_in(chromium, app, supervisor)
    boss.goto(f"{app}/admin/kyc/case/{session.pk}/change/")
    assert "Proposed outcome: approve" in boss.inner_text("#pending-override")
    # Never one click (issue 12): the confirmation step asks for a tick and a note.
    assert not boss.locator("#confirm-override").is_visible()
    boss.click("#confirm-step summary")
    boss.click("#confirm-override")  # without the tick and the note the browser refuses
    assert boss.locator(".messagelist").count() == 0
    boss.check("#confirm-checked")
    boss.fill("#confirm-note", "Watched the video call recording; same person as the document.")
    boss.click("#confirm-override")
    assert "Override confirmed" in boss.inner_text(".messagelist")
    assert boss.get_attribute("#customer-kyc-status", "data-status") == "verified"
    customer.refresh_from_db()
    assert customer.kyc_status == "verified"
    review.refresh_from_db()
    assert (review.state, review.proposed_by, review.confirmed_by) == ("effective", analyst, supervisor)
    assert review.confirmation_note.startswith("Watched the video call")

    # --- the auditor: sees everything, every action refused -------------------------------
    audit_page = sign_in(chromium, app, auditor)
    audit_page.goto(f"{app}/admin/kyc/case/{session.pk}/change/")
    assert images_rendered(audit_page)
    assert audit_page.locator("#review-form").count() == 0
    assert audit_page.locator("#assign-me").count() == 0
    for action, data in [
        (
            "propose",
            {"outcome": "decline", "reason": str(ReviewReason.objects.get(code="other").pk), "note": "x"},
        ),
        ("assign-me", {}),
        ("send-link", {}),
        ("redownload", {}),
        ("new-session", {}),
    ]:
        assert csrf_post(audit_page, f"{app}/admin/kyc/case/{session.pk}/do/{action}/", data) == 403, action
    audit_page.goto(f"{app}/admin/kyc/case/")
    assert audit_page.locator("select[name=action]").count() == 0  # no bulk actions offered
    session.refresh_from_db()
    assert session.assignee == analyst and Review.objects.count() == 1

    # The media views (the analyst's first) are in the audit trail, for the auditor to see.
    audit_page.goto(f"{app}/admin/kyc/auditevent/?q=media.viewed")
    table = audit_page.inner_text("#result_list")
    # Usernames and actions in words (the CSV export below keeps the recorded actor labels).
    assert "alice" in table and "audrey" in table and "Evidence viewed" in table and "media.viewed" in table
    # One entry per case visit, naming the files the page showed (not one per thumbnail).
    visits = AuditEvent.objects.filter(action="media.viewed", actor=analyst, session=session)
    shown = set(
        session.media.filter(state="stored", mime_type__startswith="image/").values_list("pk", flat=True)
    )
    assert visits.exists() and all(shown <= set(e.after["media"]) for e in visits)
    export = audit_page.request.get(f"{app}/admin/kyc/auditevent/export.csv?q=media.viewed")
    assert export.status == 200 and "user:alice" in export.text()
    audit_page.goto(f"{app}/admin/")  # the dashboard's charts
    assert audit_page.locator("svg.bo-chart").count() == 5
    assert CSP_VIOLATIONS == []
    for context in (page.context, boss.context, audit_page.context):
        context.close()
