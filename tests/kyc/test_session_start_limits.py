"""Bounded session creation in the end-user flow and the back-office (issue 11, item 7): the
end user gets a clear page instead of one more session at the provider; staff see the customer's
sessions against the daily limit and can lift it, audited, within their role. Veriff is replaced
at the HTTP boundary (responses) to make it refuse."""

import datetime as dt

import pytest
import responses

from kyc.links import start_token
from kyc.models import AuditEvent, Customer, VerificationSession
from tests.kyc.test_backoffice_permissions import action_url, login
from tests.providers_config import veriff_options
from tests.support.veriff import session_created_response

pytestmark = pytest.mark.django_db(transaction=True)  # the start's task runs after commit


@pytest.fixture
def provider(settings):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def sessions_url(settings):
    return f"{veriff_options(settings).api_url}/sessions"


def provider_calls(provider, settings):
    return sum(1 for call in provider.calls if call.request.url == sessions_url(settings))


def press_start(client, customer):
    return client.post(f"/verify/start/{start_token(customer.pk)}/")


def expired_sessions(customer, count):
    return [
        VerificationSession.objects.create(
            customer=customer, provider="veriff", provider_session_id=f"old-{n}", status="expired"
        )
        for n in range(count)
    ]


# --- end-user flow --------------------------------------------------------------------------------
def test_the_end_user_past_the_daily_limit_gets_a_clear_page_and_no_session(
    client, customer, provider, settings
):
    settings.KYC_MAX_SESSIONS_PER_CUSTOMER_PER_DAY = 3
    expired_sessions(customer, 3)
    response = press_start(client, customer)
    assert response.status_code == 429
    assert b"You have started as many verifications as we allow in one day" in response.content
    assert b"try again in about 24 hours" in response.content
    assert VerificationSession.objects.count() == 3 and provider_calls(provider, settings) == 0


def test_a_permanent_refusal_is_shown_again_not_asked_again(client, customer, provider, settings):
    provider.post(sessions_url(settings), status=400, json={"status": "fail", "code": "1102", "message": "x"})
    first = press_start(client, customer)
    failed = VerificationSession.objects.get()
    assert first.status_code == 302 and first["Location"] == f"/verify/s/{failed.reference}/"
    assert client.get(first["Location"]).status_code == 503  # "we cannot start your verification"
    for _ in range(19):
        again = press_start(client, customer)
        assert again.status_code == 302 and again["Location"] == first["Location"]
    assert VerificationSession.objects.count() == 1 and provider_calls(provider, settings) == 1


def test_impossible_data_is_a_clear_page_before_the_provider(client, customer, provider, settings):
    Customer.objects.filter(pk=customer.pk).update(date_of_birth=dt.date(9999, 12, 31))
    response = press_start(client, customer)
    assert response.status_code == 400
    assert b"some of the details we hold about you are not valid" in response.content
    assert b"9999" not in response.content  # the value is not echoed
    assert VerificationSession.objects.count() == 0 and provider_calls(provider, settings) == 0


# --- back-office ----------------------------------------------------------------------------------
@pytest.fixture
def capped_case(make_case, settings):
    settings.KYC_MAX_SESSIONS_PER_CUSTOMER_PER_DAY = 3
    # A quality decline (101): the customer may start again by themselves once the cap is lifted.
    session = make_case("declined", reason_code=101)
    older = expired_sessions(session.customer, 2)
    # The case page is the customer's latest session.
    VerificationSession.objects.filter(pk__in=[o.pk for o in older]).update(
        created_at=session.created_at - dt.timedelta(minutes=5)
    )
    return session


def test_the_case_page_shows_the_limit_reached_and_an_analyst_lifts_it(
    client, capped_case, analyst, provider, settings
):
    page = login(client, analyst).get(f"/admin/kyc/case/{capped_case.pk}/change/")
    assert b"New sessions in the last 24 hours: 3 of 3 allowed" in page.content
    assert b"limit reached" in page.content and b"Allow more sessions today" in page.content
    response = client.post(action_url(capped_case, "allow-sessions"), follow=True)
    assert b"may start new sessions again today" in response.content
    assert b"New sessions in the last 24 hours: 0 of 3 allowed" in response.content
    lifted = AuditEvent.objects.get(action="customer.session_cap_lifted")
    assert lifted.actor == analyst and lifted.before == {"sessions_counted": 3}
    provider.post(
        sessions_url(settings), **session_created_response("d" * 8 + "-0000-4000-8000-000000000001")
    )
    assert press_start(client, capped_case.customer).status_code == 302
    assert capped_case.customer.sessions.count() == 4


def test_an_auditor_cannot_lift_the_limit(client, capped_case, auditor):
    assert login(client, auditor).post(action_url(capped_case, "allow-sessions")).status_code == 403
    assert not AuditEvent.objects.filter(action="customer.session_cap_lifted").exists()


def test_the_customer_admin_action_lifts_the_limit_and_the_record_shows_it(client, capped_case, supervisor):
    customer = capped_case.customer
    login(client, supervisor)
    record = client.get(f"/admin/kyc/customer/{customer.pk}/change/")
    assert b"3 of 3 allowed - limit reached" in record.content
    response = client.post(
        "/admin/kyc/customer/",
        {"action": "allow_more_sessions", "_selected_action": [customer.pk]},
        follow=True,
    )
    assert b"may start new sessions again" in response.content
    assert AuditEvent.objects.get(action="customer.session_cap_lifted").actor == supervisor
    assert b"0 of 3 allowed" in client.get(f"/admin/kyc/customer/{customer.pk}/change/").content


def test_staff_cannot_start_a_session_with_impossible_data(client, customer, analyst, provider, settings):
    Customer.objects.filter(pk=customer.pk).update(country="XX")
    response = login(client, analyst).post(
        "/admin/kyc/customer/",
        {"action": "start_verification", "_selected_action": [customer.pk]},
        follow=True,
    )
    assert b"not an ISO 3166-1 alpha-2 code" in response.content
    assert VerificationSession.objects.count() == 0 and provider_calls(provider, settings) == 0
