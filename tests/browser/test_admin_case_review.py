"""A staff member and an end user, each in their own browser, through the whole case: staff hands
out the verification link from the back-office, the end user approves on the sandbox's hosted
page and sees the result, staff opens the case and sees the document images."""

import pytest
from django.contrib.auth import get_user_model

from kyc.models import Media, VerificationSession
from kyc.services import customers
from tests.support.servers import wait_until
from tests.support.veriff import media_stored, provider_media, session_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

STAFF_PASSWORD = "correct-horse-battery-staple-42"
TIMEOUT_MS = 30_000


def test_staff_link_end_user_approval_and_case_page_renders_the_documents(chromium, live_stack, results_dir):
    base = live_stack.base_url
    get_user_model().objects.create_superuser("analyst", "analyst@example.com", STAFF_PASSWORD)
    customer = customers.customer_create(
        external_ref="IT-BROWSER-1",
        first_name="Liis",
        last_name="Saar",
        email="liis@example.com",
        country="EE",
    )

    # Staff: log in to the back-office and take the customer's end-user verification link.
    staff = chromium.new_context(viewport={"width": 1400, "height": 1000})
    staff.set_default_timeout(TIMEOUT_MS)
    admin = staff.new_page()
    admin.goto(f"{base}/admin/login/?next=/admin/kyc/customer/{customer.pk}/change/")
    admin.fill("#id_username", "analyst")
    admin.fill("#id_password", STAFF_PASSWORD)
    admin.click("input[type=submit]")
    admin.wait_for_url(f"**/admin/kyc/customer/{customer.pk}/change/")
    link = admin.locator(".field-verification_link a").get_attribute("href")
    assert link and link.startswith(f"{base}/verify/start/")

    # End user, in a browser of their own: start, go through the hosted page, approve.
    end_user = chromium.new_context()
    end_user.set_default_timeout(TIMEOUT_MS)
    page = end_user.new_page()
    page.goto(link)
    page.get_by_role("button", name="Start verification").click()
    # Either at once or after the "preparing…" page has polled for the provider session.
    page.wait_for_url("**/sandbox/veriff/v/**")
    assert "Verify your identity" in page.content()
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url("**/verify/return/**")
    # The return page follows the status by itself until the decision webhook was applied.
    page.wait_for_selector('[data-status="approved"]')
    assert "You are verified" in page.inner_text("main")

    session = VerificationSession.objects.get(customer=customer)
    assert page.url == f"{base}/verify/return/{session.reference}/"
    session = session_in(session.pk, "approved")
    assert session.customer.kyc_status == "verified"
    rows = media_stored(session, {m.provider_media_id for m in provider_media(session.provider_session_id)})
    images = [m for m in rows if m.mime_type.startswith("image/")]
    assert len(images) == 3  # document front and back, the face

    # Staff: the case page shows the evidence, really decoded by the browser.
    admin.goto(f"{base}/admin/kyc/verificationsession/{session.pk}/change/")
    evidence = admin.locator(
        "img.bo-evidence-img[src*='/content/']"
    )  # the gallery, not the side-by-side view
    assert evidence.count() == len(images)
    # Every image in ("load"); a polled wait_for_function would be eval'd in the page, which the
    # Content-Security-Policy (no 'unsafe-eval') refuses.
    admin.wait_for_load_state("load", timeout=TIMEOUT_MS)
    widths = evidence.evaluate_all("imgs => imgs.map(img => [img.alt, img.naturalWidth, img.naturalHeight])")
    assert all(width > 0 and height > 0 for _, width, height in widths), widths
    assert sorted(alt for alt, _, _ in widths) == sorted(m.context for m in images)
    assert admin.locator("video[src*='/content/']").count() == 1
    admin.screenshot(path=str(results_dir / "admin-case-approved.png"), full_page=True)

    # The visit was audited once, naming every file the page showed (not one entry per image).
    wait_until(
        lambda: any(
            {m.pk for m in images} <= set(e.after.get("media", []))
            for e in session.audit_events.filter(action="media.viewed")
        ),
        timeout=10,
        message="media views audited",
    )
    assert Media.objects.filter(session=session, state=Media.State.STORED).count() == len(rows)
    staff.close()
    end_user.close()
