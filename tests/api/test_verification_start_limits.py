"""Starting verifications cannot be turned into unbounded sessions at the provider (issue 11,
item 7): what we can check is checked before the provider is asked, a permanent refusal is
answered again instead of asked again, and a customer has a daily cap that staff can lift.
Veriff is replaced at the HTTP boundary (responses) to make it refuse."""

import datetime as dt

import pytest
import responses
from django.utils import timezone

from kyc.models import AuditEvent, Customer, VerificationSession
from kyc.services import customers as kyc_customers
from tests.providers_config import veriff_options
from tests.support.veriff import session_created_response

pytestmark = pytest.mark.django_db(transaction=True)


def start(api, customer):
    return api.post(f"/api/v1/customers/{customer.pk}/verifications/", {}, format="json")


@pytest.fixture
def provider(settings):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def sessions_url(settings):
    return f"{veriff_options(settings).api_url}/sessions"


def refusing(provider, settings):
    provider.post(
        sessions_url(settings),
        status=400,
        json={"status": "fail", "code": "2003", "message": "Date of birth is not a valid date."},
    )


def provider_calls(provider, settings):
    return sum(1 for call in provider.calls if call.request.url == sessions_url(settings))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date_of_birth", dt.date(9999, 12, 31)),
        ("date_of_birth", dt.date.today() + dt.timedelta(days=1)),
        ("date_of_birth", dt.date(1850, 1, 1)),
        ("country", "XX"),
        ("country", "1A"),
    ],
)
def test_input_the_provider_would_refuse_is_a_400_before_any_session(
    api, customer, provider, settings, field, value
):
    # Stored before validation existed (or by a path that skipped it): the start checks it again.
    Customer.objects.filter(pk=customer.pk).update(**{field: value})
    refusing(provider, settings)
    for _ in range(20):
        response = start(api, customer)
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == "invalid_customer_data" and list(error["fields"]) == [field]
        assert field.replace("_", " ") in error["message"]
    assert VerificationSession.objects.count() == 0 and provider_calls(provider, settings) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("date_of_birth", "9999-12-31"), ("date_of_birth", "1850-01-01"), ("country", "XX")],
)
def test_a_customer_with_impossible_data_is_not_created(api, field, value):
    response = api.post("/api/v1/customers/", {"external_ref": "C-9", field: value}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == [field]
    assert not Customer.objects.exists()


def test_a_permanent_refusal_is_answered_again_until_the_input_changes(api, customer, provider, settings):
    refusing(provider, settings)
    first = start(api, customer)
    assert first.status_code == 201 and VerificationSession.objects.count() == 1
    failed = VerificationSession.objects.get()
    assert failed.provider_error_permanent
    for _ in range(19):
        again = start(api, customer)
        assert again.status_code == 422, again.content
        error = again.json()["error"]
        assert error["code"] == "provider_refused"
        assert str(failed.reference) in error["message"] and "Veriff answered 400" in error["message"]
    assert VerificationSession.objects.count() == 1 and provider_calls(provider, settings) == 1

    # Corrected data is a new request: the provider is asked again.
    customer.first_name = "Sara"
    kyc_customers.customer_update(customer=customer, changed=["first_name"])
    provider.replace(
        responses.POST,
        sessions_url(settings),
        **session_created_response("a" * 8 + "-0000-4000-8000-000000000001"),
    )
    assert start(api, customer).status_code == 201
    assert VerificationSession.objects.count() == 2 and provider_calls(provider, settings) == 2


def expired_sessions(customer, count):
    for n in range(count):
        VerificationSession.objects.create(
            customer=customer, provider="veriff", provider_session_id=f"old-{n}", status="expired"
        )


def test_the_daily_cap_is_a_429_with_a_clear_message(api, customer, provider, settings):
    settings.KYC_MAX_SESSIONS_PER_CUSTOMER_PER_DAY = 3
    expired_sessions(customer, 3)
    response = start(api, customer)
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["code"] == "session_limit_reached"
    assert "3 verification sessions in 24 hours" in error["message"]
    assert 0 < int(response["Retry-After"]) <= 24 * 3600
    assert VerificationSession.objects.count() == 3 and provider_calls(provider, settings) == 0


def test_sessions_older_than_a_day_do_not_count(api, customer, provider, settings):
    settings.KYC_MAX_SESSIONS_PER_CUSTOMER_PER_DAY = 3
    expired_sessions(customer, 3)
    VerificationSession.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))
    provider.post(
        sessions_url(settings), **session_created_response("b" * 8 + "-0000-4000-8000-000000000001")
    )
    assert start(api, customer).status_code == 201


def test_staff_lift_the_cap_and_it_is_audited(api, customer, provider, settings, django_user_model):
    settings.KYC_MAX_SESSIONS_PER_CUSTOMER_PER_DAY = 3
    expired_sessions(customer, 3)
    assert start(api, customer).status_code == 429
    staff = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-123")
    kyc_customers.customer_lift_session_cap(customer_id=customer.pk, actor=staff)
    provider.post(
        sessions_url(settings), **session_created_response("c" * 8 + "-0000-4000-8000-000000000001")
    )
    assert start(api, customer).status_code == 201
    lifted = AuditEvent.objects.get(action="customer.session_cap_lifted")
    assert lifted.actor == staff and lifted.customer_id == customer.pk
