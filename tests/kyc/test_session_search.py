"""Staff search over sessions (kyc.selectors.session_search, the sessions list in the admin)."""

import pytest

from kyc import selectors
from kyc.models import VerificationSession
from tests.factories import CustomerFactory, SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sessions():
    ada = SessionFactory(
        customer=CustomerFactory(external_ref="ACME-0042", last_name="Lovelace", email="ada@example.org")
    )
    bruno = SessionFactory(
        customer=CustomerFactory(external_ref="ACME-0043", last_name="Sample", email="bruno@example.net")
    )
    return ada, bruno


def found(term):
    return set(VerificationSession.objects.filter(selectors.session_search(term)))


@pytest.mark.parametrize("term", ["lovelace", "ADA@EXAMPLE", "acme-0042", "0042"])
def test_a_session_is_found_by_part_of_its_customers_name_email_or_reference(sessions, term):
    assert found(term) == {sessions[0]}


def test_a_session_is_found_by_part_of_its_provider_id_or_its_own_reference(sessions):
    ada, _ = sessions
    assert found(ada.provider_session_id[4:20].upper()) == {ada}
    assert found(str(ada.reference)) == {ada}


def test_every_word_must_match(sessions):
    assert found("acme") == set(sessions)
    assert found("acme sample") == {sessions[1]}
    assert found("lovelace sample") == set()


def test_many_matching_customers_are_joined_rather_than_listed(sessions, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_CUSTOMER_IDS_MAX", 1)
    assert found("acme") == set(sessions)


def test_the_sessions_list_searches_with_it(client, sessions, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "b@example.com", "pw-boss-123"))
    page = client.get("/admin/kyc/verificationsession/", {"q": "lovelace"})
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [sessions[0]]
