"""The back-office, the end-user flow and the sandbox pages work under the Content-Security-Policy:
Chromium reports no violation on any of them, and their scripts run (the admin's action checkbox,
the flow's status polling)."""

import pytest
from django.contrib.auth import get_user_model

from kyc.models import VerificationSession
from kyc.services import customers
from tests.support.veriff import media_stored, provider_media, session_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

PASSWORD = "csp-check-password-0123456789"
TIMEOUT_MS = 30_000


def watch(page, violations: list[str]) -> None:
    def on_console(message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", on_console)


def test_every_page_works_under_the_content_security_policy(chromium, live_stack):
    base = live_stack.base_url
    get_user_model().objects.create_superuser("csp", "csp@example.com", PASSWORD)
    customer = customers.customer_create(
        external_ref="IT-CSP-1", first_name="Kadri", last_name="Kask", email="kadri@example.com", country="EE"
    )
    customers.customer_create(external_ref="IT-CSP-2", first_name="Other")
    violations: list[str] = []

    # The end user's side: start page, the sandbox's hosted page, the return page that polls.
    end_user = chromium.new_context()
    end_user.set_default_timeout(TIMEOUT_MS)
    page = end_user.new_page()
    watch(page, violations)
    from kyc.links import start_url

    page.goto(start_url(customer.pk))
    page.get_by_role("button", name="Start verification").click()
    page.wait_for_url("**/sandbox/veriff/v/**")
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.banner')).backgroundColor")
        != "rgba(0, 0, 0, 0)"
    )
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url("**/verify/return/**")
    page.wait_for_selector('[data-status="approved"]')
    session = session_in(VerificationSession.objects.get(customer=customer).pk, "approved")
    media_stored(session, {m.provider_media_id for m in provider_media(session.provider_session_id)})

    # Staff: login, lists, the case page with its evidence, the erasure confirmation.
    staff = chromium.new_context(viewport={"width": 1400, "height": 1000})
    staff.set_default_timeout(TIMEOUT_MS)
    admin = staff.new_page()
    watch(admin, violations)
    admin.goto(f"{base}/admin/login/")
    admin.fill("#id_username", "csp")
    admin.fill("#id_password", PASSWORD)
    admin.click("input[type=submit]")
    admin.wait_for_url(f"{base}/admin/")
    for path in (
        "/admin/kyc/customer/",
        f"/admin/kyc/customer/{customer.pk}/change/",
        "/admin/kyc/media/",
        "/admin/kyc/auditevent/",
        "/admin/webhooks/inboundevent/",
    ):
        admin.goto(base + path)
    admin.goto(f"{base}/admin/kyc/verificationsession/{session.pk}/change/")
    # Every image loaded ("load"), then checked once: a polled wait_for_function would be eval'd in
    # the page, which the policy (no 'unsafe-eval') rightly refuses.
    admin.wait_for_load_state("load")
    assert admin.evaluate(
        "[...document.querySelectorAll('img.bo-evidence-img')].length >= 3 && "
        "[...document.querySelectorAll('img.bo-evidence-img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    # The evidence images take their size from the stylesheet, not from an inline style.
    assert admin.evaluate("getComputedStyle(document.querySelector('img.bo-evidence-img')).height") == "150px"
    # The admin's own scripts run: "select all" ticks every row, then the erase action's page.
    admin.goto(f"{base}/admin/kyc/customer/")
    admin.click("#action-toggle")
    assert admin.eval_on_selector_all("input.action-select", "boxes => boxes.every(b => b.checked)")
    admin.select_option("select[name=action]", "erase_personal_data")
    admin.click("button[name=index]")
    admin.wait_for_selector("#id_request_ref")

    assert violations == []
