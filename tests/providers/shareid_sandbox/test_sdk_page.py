"""The SDK page: a single-use token spent by the first GET, its lifetime, what the person picks,
the way back to return_url, and a page that is accessible and passes the site's CSP."""

import re
from html.parser import HTMLParser

import pytest

pytestmark = pytest.mark.django_db

RETURN_URL = "http://127.0.0.1:8000/flow/return/abc?from=shareid"


def open_page(client, shareid, token: str, return_url: str = RETURN_URL):
    return client.get(shareid.prefix + "/sdk/", {"token": token, "return_url": return_url})


def finish(client, shareid, page, outcome: str, **fields):
    sdk = page.context["sdk"]
    data = {"token": sdk.token, "page_key": sdk.page_key, "return_url": RETURN_URL, "outcome": outcome}
    with shareid.capture(execute=True):
        return client.post(shareid.prefix + "/sdk/finish", {**data, **fields})


def test_the_first_get_opens_the_page_and_spends_the_token(client, shareid):
    started = shareid.start()

    first = open_page(client, shareid, started["token"])
    second = open_page(client, shareid, started["token"])

    assert first.status_code == 200
    assert started["applicant_id"] in first.content.decode()
    assert first["Cache-Control"].startswith("max-age=0")
    assert second.status_code == 410
    assert "already used" in second.content.decode()
    assert shareid.applicant(started["applicant_id"])["sdk_token_used"] is True


def test_an_unknown_or_missing_token_is_404(client, shareid):
    assert open_page(client, shareid, "nope").status_code == 404
    assert client.get(shareid.prefix + "/sdk/").status_code == 404


def test_a_token_past_its_scaled_session_duration_is_410_expired(client, shareid, clock, settings):
    settings.SIM_TIME_SCALE = 0.01
    started = shareid.start(session_duration=300)  # 3 s at this scale
    clock.advance(3.5)

    response = open_page(client, shareid, started["token"])

    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert shareid.applicant(started["applicant_id"])["sdk_token_used"] is False


def test_approve_makes_a_result_with_no_reasons_and_goes_back_to_return_url(client, shareid, receiver):
    started = shareid.start()
    page = open_page(client, shareid, started["token"])

    response = finish(
        client, shareid, page, "approve", surname="MORGAN", name="SARAH", birth_date="1985-07-12"
    )

    assert response.status_code == 302
    assert response["Location"] == RETURN_URL
    state = shareid.applicant(started["applicant_id"])
    assert (state["completed"], state["reasons"]) == (True, [])
    assert state["document"]["ocr"]["surname"] == "MORGAN"
    assert state["document"]["ocr"]["birth_date"] == "1985-07-12"


def test_reject_sends_the_reasons_ticked(client, shareid, receiver):
    started = shareid.start()
    page = open_page(client, shareid, started["token"])

    finish(client, shareid, page, "reject", reasons=["no_doc", "face_spoof"])

    assert shareid.applicant(started["applicant_id"])["reasons"] == ["no_doc", "face_spoof"]


def test_reject_without_a_reason_is_shown_again_with_the_error(client, shareid, receiver):
    started = shareid.start()
    page = open_page(client, shareid, started["token"])

    response = finish(client, shareid, page, "reject")

    assert response.status_code == 400
    assert "Tick at least one reason" in response.content.decode()
    assert shareid.applicant(started["applicant_id"])["completed"] is False
    # The page still works: the person can approve now.
    assert finish(client, shareid, page, "approve").status_code == 302


def test_leave_makes_no_result_and_goes_back_with_the_left_marker(client, shareid, receiver):
    started = shareid.start()
    page = open_page(client, shareid, started["token"])

    response = finish(client, shareid, page, "leave")

    assert response.status_code == 302
    # The page plays ours that runs the SDK: "left" said on the way back, the rest kept as it is.
    assert response["Location"] == RETURN_URL + "&left=1"
    state = shareid.applicant(started["applicant_id"])
    assert state["completed"] is False and state["left_at"] is not None
    assert receiver.requests == []


@pytest.mark.parametrize("outcome", ["approve", "reject"])
def test_a_finished_visit_goes_back_to_return_url_without_the_marker(client, shareid, receiver, outcome):
    return_url = "https://app.example/verify/return/abc/"
    started = shareid.start()
    page = open_page(client, shareid, started["token"], return_url=return_url)

    reasons = {"reasons": ["no_doc"]} if outcome == "reject" else {}
    response = finish(client, shareid, page, outcome, return_url=return_url, **reasons)

    assert response.status_code == 302 and response["Location"] == return_url


def test_leaving_adds_the_marker_as_the_only_query_when_return_url_has_none(client, shareid, receiver):
    return_url = "https://app.example/verify/return/abc/"
    started = shareid.start()
    page = open_page(client, shareid, started["token"], return_url=return_url)

    response = finish(client, shareid, page, "leave", return_url=return_url)

    assert response["Location"] == return_url + "?left=1"


@pytest.mark.parametrize("return_url", ["", "javascript:alert(1)", "ftp://example.com/", "/relative"])
def test_without_an_http_return_url_a_done_page_is_shown(client, shareid, receiver, return_url):
    started = shareid.start()
    page = open_page(client, shareid, started["token"], return_url=return_url)

    response = finish(client, shareid, page, "approve", return_url=return_url)

    assert response.status_code == 200
    assert "Thank you" in response.content.decode()


def test_a_second_finish_of_one_page_is_410(client, shareid, receiver):
    started = shareid.start()
    page = open_page(client, shareid, started["token"])
    finish(client, shareid, page, "approve")

    again = finish(client, shareid, page, "reject", reasons=["doc_fraud"])

    assert again.status_code == 410
    assert shareid.applicant(started["applicant_id"])["reasons"] == []


def test_finishing_needs_the_key_the_page_was_given(client, shareid):
    started = shareid.start()
    page = open_page(client, shareid, started["token"])

    response = finish(client, shareid, page, "approve", page_key="guessed")

    assert response.status_code == 404
    assert shareid.applicant(started["applicant_id"])["completed"] is False


def test_a_page_opened_after_a_script_completed_the_applicant_says_finished(client, shareid, receiver):
    started = shareid.start()
    shareid.complete(started["applicant_id"], [])

    response = open_page(client, shareid, started["token"])

    assert response.status_code == 410
    assert "already finished" in response.content.decode()


def test_an_authenticate_flow_offers_face_reasons_only(client, shareid):
    applicant_id = shareid.start(callback=None)["applicant_id"]
    token = shareid.post(
        "/flow/authenticate/auth/business", {**shareid.credentials, "applicant_id": applicant_id}
    ).json()["token"]

    page = open_page(client, shareid, token)
    finish(client, shareid, page, "reject", reasons=["face_fraud"])

    html = page.content.decode()
    assert 'value="face_spoof"' in html and 'value="doc_spoof"' not in html
    assert (
        shareid.applicant(applicant_id)["completed"] is False
    )  # the flow has the result, not the onboarding
    (flow_id,) = shareid.applicant(applicant_id)["flows"]
    assert shareid.control("GET", f"/flows/{flow_id}").json()["reasons"] == ["face_fraud"]


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def test_the_page_is_accessible_and_passes_the_sites_csp(client, shareid):
    page = open_page(client, shareid, shareid.start()["token"])
    html = page.content.decode()
    parser = Elements()
    parser.feed(html)

    labelled = {attrs.get("for") for tag, attrs in parser.elements if tag == "label"}
    fields = [
        attrs
        for tag, attrs in parser.elements
        if tag in ("input", "select") and attrs.get("type") != "hidden"
    ]
    assert fields and all(field.get("id") in labelled for field in fields)
    buttons = [attrs for tag, attrs in parser.elements if tag == "button"]
    assert {b["value"] for b in buttons} == {"approve", "reject", "leave"}
    assert all(b.get("type") == "submit" for b in buttons)
    assert ("html", {"lang": "en"}) in parser.elements
    # No inline script, style or handler; the stylesheet comes from our static files.
    assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=", html, re.IGNORECASE)
    assert any(tag == "link" and "shareid_sandbox/sandbox.css" in a["href"] for tag, a in parser.elements)
    policy = dict(d.strip().split(" ", 1) for d in page["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert "'self'" in policy["form-action"]


def test_an_authenticate_flow_refuses_a_document_reason(client, shareid):
    applicant_id = shareid.start(callback=None)["applicant_id"]
    token = shareid.post(
        "/flow/authenticate/auth/business", {**shareid.credentials, "applicant_id": applicant_id}
    ).json()["token"]
    page = open_page(client, shareid, token)

    response = finish(client, shareid, page, "reject", reasons=["doc_fraud"])

    assert response.status_code == 400
    assert "face reasons" in response.content.decode()
