"""The back-office in headless Chromium, end to end: a case made by the Veriff sandbox over HTTP
(webhooks, media download), an analyst who signs in with a TOTP code, works the queue, sees the
evidence rendered and proposes an override; a supervisor confirms it and the customer's status
changes; an auditor sees everything and is refused every action; the media views are in the audit
trail. The app runs in-process on a real port (pytest-django's live server, as in
tests/test_veriff_checklist.py), with two-factor sign-in required.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest
import requests
from django.contrib.auth.models import Group, User
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from kyc import services
from kyc.models import AuditEvent, Customer, Review, ReviewReason
from tests.kyc.conftest import ensure_roles_and_reasons

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "pw-browser-test-1234"
# Every evidence image on the page has loaded and has pixels (naturalWidth is 0 for a broken one).
ALL_IMAGES_RENDERED = (
    "() => [...document.querySelectorAll('img.bo-evidence-img')].every(i => i.complete && i.naturalWidth > 0)"
)


@pytest.fixture(scope="module")
def chromium():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is required in CI ({CHROMIUM}): apt-get install chromium")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are ordinary synchronous ones.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def app(chromium, live_server, settings, monkeypatch):
    from config.celery import app as celery_app

    # In-process like `make run` (a broker may be configured for the integration run): the
    # sandbox's webhooks, their processing and the media download happen inside the requests.
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    settings.KYC_PUBLIC_URL = live_server.url
    settings.VERIFF_API_URL = f"{live_server.url}/sandbox/veriff/v1"
    settings.KYC_STAFF_2FA_REQUIRED = True
    return live_server.url


def staff(username: str, role: str, *, enrolled: bool) -> User:
    ensure_roles_and_reasons()
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    if enrolled:
        TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


def code(key: bytes) -> str:
    return f"{TOTP(key).token():06d}"


def declined_case(app: str) -> Customer:
    """A customer whose verification the Veriff sandbox declined (103), evidence downloaded."""
    customer = services.customer_create(
        external_ref="BRW-1", first_name="Greta", last_name="Mock", email="greta@example.com", country="SE"
    )
    session = services.verification_start(customer=customer, actor_label="end-user")
    session.refresh_from_db()
    response = requests.post(
        f"{app}/sandbox/veriff/control/sessions/{session.provider_session_id}/decision",
        json={"status": "declined", "reasonCode": 103},
        timeout=60,
    )
    response.raise_for_status()
    customer.refresh_from_db()
    assert customer.kyc_status == "rejected"
    assert session.media.filter(state="stored").count() >= 3
    return customer


def sign_in(browser, app: str, user: User, *, key: bytes | None = None):
    """Password, then the TOTP code (enrolling from the QR page's key when there is no device)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{app}/admin/login/?next=/admin/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/two-factor/.*"))
    if key is None:
        secret = page.inner_text(".bo-secret").strip()
        import base64

        key = base64.b32decode(secret)
    page.fill("#id_token", code(key))
    page.click("#otp-form input[type=submit]")
    page.wait_for_url(f"{app}/admin/")
    return page


def csrf_post(page, url: str, data: dict | None = None) -> int:
    """A POST from the signed-in browser that bypasses the page's buttons (with its CSRF token)."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        url, form={"csrfmiddlewaretoken": token, **(data or {})}, headers={"Referer": url}
    )
    return response.status


def test_override_four_eyes_and_audit_in_the_browser(app, chromium):
    customer = declined_case(app)
    session = customer.sessions.get()
    analyst = staff("alice", "Analyst", enrolled=False)
    supervisor = staff("sam", "Supervisor", enrolled=True)
    auditor = staff("audrey", "Auditor", enrolled=True)

    # --- the analyst: enrols a TOTP app, works the queue, opens the case ---------------------
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
    page.wait_for_function(ALL_IMAGES_RENDERED)
    contexts = {images.nth(i).get_attribute("data-context") for i in range(images.count())}
    assert {"document-front", "document-back", "face"} <= contexts
    assert page.locator("video.bo-evidence-video").count() >= 1
    # Zoom: the overlay shows the image at a larger scale.
    page.locator("button.bo-zoomable").first.click()
    page.wait_for_function("() => document.getElementById('bo-zoom-img').naturalWidth > 0")
    page.click("[data-zoom=in]")
    assert page.locator("#bo-zoom").is_visible()
    page.click("[data-zoom=close]")

    # Propose an override: the provider declined, the analyst approves.
    page.check("input[name=outcome][value=approve]")
    page.select_option("#id_reason", label="Additional evidence received (video call, proof of address)")
    page.fill("#id_note", "Video call held; the face matches the document photo.")
    page.click("#submit-review")
    assert "Override proposed" in page.inner_text(".messagelist")
    assert page.get_attribute("#customer-kyc-status", "data-status") == "rejected"
    assert page.locator("#pending-override").is_visible()
    assert page.locator("#confirm-override").count() == 0  # not for the proposer
    # Nor by a POST that bypasses the page: an analyst may not confirm.
    review = Review.objects.get(session=session)
    assert csrf_post(page, f"{app}/admin/kyc/case/{session.pk}/do/confirm/", {"review": review.pk}) == 403

    # --- the supervisor confirms: the override takes effect -------------------------------
    boss = sign_in(chromium, app, supervisor, key=TOTPDevice.objects.get(user=supervisor).bin_key)
    boss.goto(f"{app}/admin/kyc/case/{session.pk}/change/")
    assert "Approve" in boss.inner_text("#pending-override")
    boss.click("#confirm-override")
    assert "Override confirmed" in boss.inner_text(".messagelist")
    assert boss.get_attribute("#customer-kyc-status", "data-status") == "verified"
    customer.refresh_from_db()
    assert customer.kyc_status == "verified"
    review.refresh_from_db()
    assert (review.state, review.proposed_by, review.confirmed_by) == ("effective", analyst, supervisor)

    # --- the auditor: sees everything, every action refused -------------------------------
    audit_page = sign_in(chromium, app, auditor, key=TOTPDevice.objects.get(user=auditor).bin_key)
    audit_page.goto(f"{app}/admin/kyc/case/{session.pk}/change/")
    audit_page.wait_for_function(ALL_IMAGES_RENDERED)
    assert audit_page.locator("#review-form").count() == 0
    assert audit_page.locator("#assign-me").count() == 0
    for action, data in [
        # A reason that exists, whatever ids earlier tests' flushes left (a missing one is a 400).
        ("propose", {"outcome": "decline", "reason": str(ReviewReason.objects.first().pk), "note": "x"}),
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
    assert "user:alice" in table and "user:audrey" in table and "media.viewed" in table
    assert AuditEvent.objects.filter(action="media.viewed", actor=analyst, session=session).count() >= 3
    export = audit_page.request.get(f"{app}/admin/kyc/auditevent/export.csv?q=media.viewed")
    assert export.status == 200 and "user:alice" in export.text()
    for context in (page.context, boss.context, audit_page.context):
        context.close()
