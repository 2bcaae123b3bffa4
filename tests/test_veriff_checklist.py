"""The Veriff seed's integration checklist (providers/veriff/README.md, "Sources": "Testing
verification sessions checklist", "Testing process in your app"), one test per line, end to end in
the `make run` configuration: SQLite, tasks in-process, the app and the Veriff sandbox served on a
real port (pytest-django's live server), a requests.Session playing the end user's browser.
("Testing security" and "Testing responses" are in tests/webhooks/test_veriff_webhooks.py.)
"""

import datetime as dt
import hashlib
import re

import pytest
import requests
from django.utils import timezone

from kyc.links import start_url
from kyc.models import Customer, Media, VerificationSession
from kyc.services import customers
from providers.registry import get_provider
from tests.providers_config import with_options

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app(live_server, settings):
    settings.KYC_PUBLIC_URL = live_server.url
    with_options(settings, "veriff", api_url=f"{live_server.url}/sandbox/veriff/v1")
    return live_server.url


class Browser:
    """The end user's browser: follows redirects, keeps cookies, submits forms with their CSRF."""

    def __init__(self):
        self.http = requests.Session()

    def get(self, url):
        response = self.http.get(url, timeout=30)
        response.raise_for_status()
        return response

    def submit(self, page, data, action=None):
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        response = self.http.post(
            action or page.url,
            data={"csrfmiddlewaretoken": token, **data},
            headers={"Referer": page.url},
            timeout=60,
        )
        response.raise_for_status()
        return response

    def start(self, customer):
        """Open the start link, press Start: lands on the provider's hosted page."""
        return self.submit(self.get(start_url(customer.pk)), {})

    def choose(self, hosted_page, outcome, reason_code=""):
        return self.submit(hosted_page, {"outcome": outcome, "reason_code": reason_code})


@pytest.fixture
def browser():
    return Browser()


def make_customer(ref="CHK-1", first="Sarah", last="Morgan"):
    return customers.customer_create(
        external_ref=ref, first_name=first, last_name=last, email="s@example.com", country="GB"
    )


def only_session(customer) -> VerificationSession:
    [session] = customer.sessions.all()
    return session


# --- Testing verification sessions checklist ---------------------------------------------------
def test_new_session_link_is_generated(app, browser):
    customer = make_customer()
    hosted = browser.start(customer)
    session = only_session(customer)
    assert session.provider_session_id and hosted.url == session.hosted_url
    assert hosted.url.startswith(f"{app}/sandbox/veriff/v/")
    assert session.status == "started"  # the hosted page sent 7001 and the app applied it


def test_session_data_is_saved_with_the_customer_record(app, browser):
    customer = make_customer()
    browser.start(customer)
    session = only_session(customer)
    person = get_provider("veriff").client.get_person(session.provider_session_id)["person"]
    assert (person["firstName"], person["lastName"]) == ("Sarah", "Morgan")
    assert session.customer == customer and session.audit_events.filter(action="session.created").exists()


@pytest.mark.parametrize(
    ("first", "last"), [("Zoë", "O'Brien-Łukasiewicz"), ("李", "小龍"), ("Jean-Luc", "d'Artagnan")]
)
def test_sessions_with_odd_names_can_be_started(app, browser, first, last):
    customer = make_customer(first=first, last=last)
    hosted = browser.start(customer)
    assert only_session(customer).provider_session_id
    assert first in hosted.text  # the provider has the name as given


def test_vendor_data_comes_back_and_identifies_the_session(app, browser):
    customer = make_customer()
    browser.choose(browser.start(customer), "approve")
    session = only_session(customer)
    decision = session.decisions.get()
    assert decision.raw["verification"]["vendorData"] == str(session.reference)


def test_user_is_granted_access_after_an_approved_decision(app, browser):
    customer = make_customer()
    back = browser.choose(browser.start(customer), "approve")
    customer.refresh_from_db()
    assert customer.kyc_status == Customer.KycStatus.VERIFIED
    assert "You are verified" in back.text


@pytest.mark.parametrize(
    ("outcome", "reason", "text", "kyc_status"),
    [
        ("decline", "102", "could not verify", Customer.KycStatus.REJECTED),
        ("resubmit", "204", "try again", Customer.KycStatus.ACTION_REQUIRED),
    ],
)
def test_user_is_notified_of_failure_after_resubmission_or_decline(
    app, browser, outcome, reason, text, kyc_status
):
    customer = make_customer()
    back = browser.choose(browser.start(customer), outcome, reason)
    assert text in back.text
    customer.refresh_from_db()
    assert customer.kyc_status == kyc_status
    decision = only_session(customer).decisions.get()
    assert decision.reason_code == reason and decision.reason  # the back office sees why


def test_user_is_prompted_to_try_again_on_the_same_session_url_after_resubmission(app, browser):
    customer = make_customer()
    back = browser.choose(browser.start(customer), "resubmit", "201")
    session = only_session(customer)
    assert f'href="{session.hosted_url}"' in back.text  # the "Try again" button
    again = browser.get(session.hosted_url)  # a new attempt on the same URL
    back = browser.choose(again, "approve")
    assert "You are verified" in back.text
    session.refresh_from_db()
    assert session.status == "approved" and session.attempts.count() == 2
    assert VerificationSession.objects.count() == 1


def test_resubmitted_session_sends_the_user_to_the_same_session_url(app, browser):
    customer = make_customer()
    first = browser.start(customer)
    browser.choose(first, "resubmit", "204")
    again = browser.start(customer)  # the start link, used again: the reason, then the same URL
    assert "not sharp enough" in again.text and f'href="{first.url}"' in again.text


def test_disrupted_session_sends_the_user_back_to_the_earlier_session(app, browser):
    customer = make_customer()
    first = browser.start(customer)  # then the browser is closed
    assert Browser().start(customer).url == first.url
    assert customer.sessions.count() == 1


def test_session_over_seven_days_old_gets_a_new_session(app, browser):
    customer = make_customer()
    old = browser.start(customer)
    session = only_session(customer)
    # Veriff's sweeper closes the week-old session (sandbox control endpoint), and it is older than
    # the provider's lifetime on our side too.
    requests.post(f"{app}/sandbox/veriff/control/sessions/{session.provider_session_id}/expire", timeout=30)
    VerificationSession.objects.filter(pk=session.pk).update(
        created_at=timezone.now() - dt.timedelta(days=7, hours=1)
    )
    session.refresh_from_db()
    assert session.status == "abandoned"
    new = browser.start(customer)
    assert new.url != old.url and customer.sessions.count() == 2


def test_callback_url_brings_the_user_back_to_the_right_place(app, browser):
    customer = make_customer()
    back = browser.choose(browser.start(customer), "approve")
    session = only_session(customer)
    assert back.url == f"{app}/verify/return/{session.reference}/"


# --- Testing process in your app --------------------------------------------------------------
def test_approved_users_are_handled_and_their_evidence_is_stored(app, browser):
    customer = make_customer()
    browser.choose(browser.start(customer), "approve")
    session = only_session(customer)
    media = list(session.media.all())
    assert {m.context for m in media} >= {"document-front", "document-back", "face"}
    assert any(m.kind == "video" for m in media)
    provider = get_provider("veriff")
    for item in media:
        assert item.state == Media.State.STORED
        with item.file.open("rb") as f:
            stored = f.read()
        assert hashlib.sha256(stored).hexdigest() == item.sha256 and len(stored) == item.size
        served = requests.get(
            f"{settings_url(app)}/media/{item.provider_media_id}",
            timeout=30,
            headers=provider.client._headers(item.provider_media_id.encode()),
        )
        assert hashlib.sha256(served.content).hexdigest() == item.sha256


def settings_url(app):
    return f"{app}/sandbox/veriff/v1"


def test_declined_users_are_handled_and_the_back_office_can_see_why(app, browser):
    customer = make_customer()
    browser.choose(browser.start(customer), "decline", "103")
    session = only_session(customer)
    decision = session.decisions.get()
    assert (session.status, decision.code, decision.reason_code) == ("declined", 9102, "103")
    assert get_provider("veriff").explain_reason("103").startswith("Person showing the document")


def test_expired_or_abandoned_sessions_are_not_continued_a_new_url_is_created(app, browser):
    customer = make_customer()
    browser.choose(browser.start(customer), "abandon")
    session = only_session(customer)
    assert session.status == "abandoned"
    new = browser.start(customer)
    assert new.url != session.hosted_url and customer.sessions.count() == 2
