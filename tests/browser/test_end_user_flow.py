"""The end user in headless Chromium against the live stack: start link → sandbox hosted page →
each outcome → the right page; a resubmission goes back to the same session URL with the reason
in plain words; after expiry (the sandbox's control endpoint) a new session; keyboard only, a
phone-sized screen and German too."""

import re

import pytest

from kyc.links import start_url
from kyc.models import VerificationSession
from kyc.services import customers
from tests.support.veriff import session_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

TIMEOUT_MS = 30_000


def _customer(ref: str):
    return customers.customer_create(
        external_ref=ref, first_name="Mari", last_name="Tamm", email="mari@example.com", country="EE"
    )


@pytest.fixture
def page(chromium):
    context = chromium.new_context(locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def start(page, customer) -> str:
    """Open the start link and press Start: lands on the sandbox's hosted page (its URL)."""
    page.goto(start_url(customer.pk))
    page.get_by_role("button", name="Start verification").click()
    page.wait_for_url("**/sandbox/veriff/v/**")
    return page.url


def choose(page, outcome: str, reason: str | None = None) -> None:
    if reason is not None:
        select = {"Decline": "#decline-reason", "Request resubmission": "#resubmit-reason"}[outcome]
        page.select_option(select, reason)
    page.get_by_role("button", name=outcome).click()
    page.wait_for_url("**/verify/return/**")


@pytest.mark.parametrize(
    ("outcome", "reason", "status", "text", "next_step"),
    [
        ("Approve", None, "approved", "You are verified", None),
        # A decline the customer can put right (101); after a fraud decline (106) they cannot
        # restart alone (issue 12, rule 1: tests/browser/test_case_rules.py).
        ("Decline", "101", "declined", "could not verify your identity", "Start a new verification"),
        ("Abandon", None, "abandoned", "was not finished", "Start a new verification"),
    ],
)
def test_each_outcome_lands_on_the_right_page(page, live_stack, outcome, reason, status, text, next_step):
    customer = _customer(f"BR-{status}")
    start(page, customer)
    choose(page, outcome, reason)
    page.wait_for_selector(f'[data-status="{status}"]')
    main = page.inner_text("main")
    assert text in main
    assert "fraud" not in main.lower() and "101" not in main  # never the provider's reason
    if next_step:
        assert page.get_by_role("button", name=next_step).is_visible()
    else:
        assert page.locator("main button, main a.button").count() == 0
    session = VerificationSession.objects.get(customer=customer)
    assert page.url == f"{live_stack.base_url}/verify/return/{session.reference}/"
    session_in(session.pk, status)


def test_resubmission_goes_back_to_the_same_session_url_with_the_reason(page, live_stack):
    customer = _customer("BR-RESUBMIT")
    hosted = start(page, customer)
    choose(page, "Request resubmission", "204")
    page.wait_for_selector('[data-status="resubmission_requested"]')
    assert "not sharp enough" in page.inner_text("[data-testid=reason]")

    # Even after closing the browser: the start link leads to the reason, then the same URL.
    page.goto(start_url(customer.pk))
    page.get_by_role("button", name="Start verification").click()
    page.wait_for_url("**/verify/return/**")
    assert "not sharp enough" in page.inner_text("main")
    page.get_by_role("link", name="Try again").click()
    page.wait_for_url("**/sandbox/veriff/v/**")
    assert page.url == hosted
    choose(page, "Approve")
    page.wait_for_selector('[data-status="approved"]')
    session = session_in(VerificationSession.objects.get(customer=customer).pk, "approved")
    assert session.attempts.count() == 2 and customer.sessions.count() == 1


def test_after_expiry_a_new_session_is_created(page, live_stack, sandbox):
    customer = _customer("BR-EXPIRE")
    hosted = start(page, customer)  # the user opened the hosted page, then went away
    old = VerificationSession.objects.get(customer=customer)
    sandbox.expire(old.provider_session_id)  # Veriff's 7-day rule, now
    session_in(old.pk, "abandoned")

    page.goto(start_url(customer.pk))
    page.get_by_role("button", name="Start verification").click()
    page.wait_for_url("**/sandbox/veriff/v/**")
    assert page.url != hosted
    new = customer.sessions.exclude(pk=old.pk).get()
    assert page.url == VerificationSession.objects.get(pk=new.pk).hosted_url

    # The old session's return page says it expired and offers the same: a new session.
    page.goto(f"{live_stack.base_url}/verify/return/{old.reference}/")
    assert "was not finished and has expired" in page.inner_text("main")


def test_keyboard_only_on_a_phone_in_german(chromium, live_stack, results_dir):
    context = chromium.new_context(locale="de-DE", viewport={"width": 375, "height": 740}, is_mobile=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    customer = _customer("BR-KEYBOARD")
    page.goto(start_url(customer.pk))
    assert page.get_attribute("html", "lang") == "de"
    assert "Bestätigen Sie Ihre Identität" in page.inner_text("h1")
    # The skip link comes first, then the start button: reached and pressed with the keyboard.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent").strip() == "Verifizierung starten":
            break
    else:
        raise AssertionError("the start button is not reachable with Tab")
    page.screenshot(path=str(results_dir / "flow-start-de-mobile.png"), full_page=True)
    page.keyboard.press("Enter")
    page.wait_for_url("**/sandbox/veriff/v/**")
    # Nothing personal in any URL the browser went through.
    assert not re.search(r"Mari|Tamm|mari@", page.url)
    context.close()
