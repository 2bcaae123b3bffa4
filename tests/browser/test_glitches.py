"""Glitches seen in the browser (issue 12), checked in headless Chromium against the live stack:
the zoom viewer is a modal dialog (named, focus moved in and kept in, Esc closes and gives focus
back), a video tile loads its metadata under a poster and can seek (206), the Reviews list fits a
1366 px screen, and the API docs take an API key typed into the page."""

from __future__ import annotations

import pytest

from api.services import api_key_create
from kyc.models import ReviewReason
from kyc.services.reviews import review_propose
from tests.browser.test_backoffice import TIMEOUT_MS, declined_case, sign_in, staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


def test_the_zoom_viewer_is_a_dialog_that_keeps_focus_and_closes_on_escape(chromium, live_stack, sandbox):
    app = live_stack.base_url
    session = declined_case(sandbox)
    page = sign_in(chromium, app, staff("alice", "Analyst"))
    page.goto(f"{app}/admin/kyc/case/{session.pk}/change/")
    thumbnail = page.locator("button.bo-zoomable").first
    thumbnail.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#bo-zoom:not([hidden])")
    dialog = page.locator("#bo-zoom")
    assert dialog.get_attribute("role") == "dialog" and dialog.get_attribute("aria-modal") == "true"
    assert page.inner_text("#bo-zoom-title").startswith("Evidence: ")
    inside = "document.getElementById('bo-zoom').contains(document.activeElement)"
    assert page.evaluate(inside)  # focus moved into the dialog
    for key in ["Tab"] * 6 + ["Shift+Tab"] * 6:
        page.keyboard.press(key)
        assert page.evaluate(inside), key  # and kept there
    page.keyboard.press("Escape")
    assert dialog.is_hidden()
    assert page.evaluate("document.activeElement.classList.contains('bo-zoomable')")  # back to the thumbnail


def test_a_video_tile_loads_metadata_under_a_poster_and_seeks_by_ranges(chromium, live_stack, sandbox):
    app = live_stack.base_url
    session = declined_case(sandbox)
    page = sign_in(chromium, app, staff("alice", "Analyst"))
    page.goto(f"{app}/admin/kyc/case/{session.pk}/change/")
    video = page.locator("video.bo-evidence-video").first
    assert video.get_attribute("preload") == "metadata"
    assert video.get_attribute("poster").endswith("/static/backoffice/video-poster.svg")
    assert page.request.get(app + video.get_attribute("poster")).status == 200
    # The duration is known before anyone presses play (no spinner until played).
    page.wait_for_function(
        "document.querySelector('video.bo-evidence-video').readyState >= 1", timeout=TIMEOUT_MS
    )
    ranged = page.request.get(app + video.get_attribute("src"), headers={"Range": "bytes=10-19"})
    assert ranged.status == 206 and ranged.headers["accept-ranges"] == "bytes" and len(ranged.body()) == 10


def test_the_reviews_list_fits_a_1366_px_screen(chromium, live_stack, sandbox, results_dir):
    app = live_stack.base_url
    session = declined_case(sandbox)
    analyst = staff("alice", "Analyst")
    review_propose(
        session_id=session.pk,
        outcome="approve",
        reason=ReviewReason.objects.get(code="additional-evidence-received"),
        note="Video call held; the face matches the document photo.",
        actor=analyst,
    )
    page = sign_in(chromium, app, staff("sam", "Supervisor"))
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{app}/admin/kyc/review/")
    page.screenshot(path=str(results_dir / "reviews-1366.png"), full_page=True)
    widths = page.evaluate(
        "(() => { const r = document.querySelector('#changelist .results');"
        " return [r.scrollWidth, r.clientWidth, document.documentElement.scrollWidth, innerWidth]; })()"
    )
    assert widths[0] <= widths[1] and widths[2] <= widths[3], widths  # nothing scrolled out of sight


def test_the_api_docs_take_an_api_key_typed_into_the_page(chromium, live_stack):
    app = live_stack.base_url
    _, raw = api_key_create(name="docs reader", scopes=["read"])
    page = chromium.new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{app}/api/docs/")
    assert page.get_attribute("#docs-login", "href") == "/admin/login/?next=/api/docs/"
    page.fill("#docs-key", "not-a-key")
    page.click("#docs-key-form button[type=submit]")
    page.wait_for_selector("#docs-key-error:not([hidden])")
    assert "not accepted" in page.inner_text("#docs-key-error")
    page.fill("#docs-key", raw)
    page.click("#docs-key-form button[type=submit]")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "KYC Desk API" in page.inner_text(".swagger-ui .info .title")
    assert page.locator("#docs-signin").is_hidden()
