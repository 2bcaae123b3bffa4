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


def test_a_whole_uuid_finds_the_session_by_its_provider_id_or_reference_in_any_case(sessions):
    ada, bruno = sessions
    assert found(ada.provider_session_id) == {ada}
    assert found(ada.provider_session_id.upper()) == {ada}
    assert found(str(bruno.reference).upper()) == {bruno}
    assert found(f"{ada.provider_session_id} lovelace") == {ada}  # with a name: every word must match
    assert found(f"{ada.provider_session_id} sample") == set()


def test_a_whole_uuid_finds_a_customer_whose_external_reference_it_is(sessions):
    ada, _ = sessions
    ref = "0f8fad5b-d9cb-469f-a165-70867728950e"
    ada.customer.__class__.objects.filter(pk=ada.customer_id).update(external_ref=ref)
    assert found(ref) == {ada}
    assert found(ref.upper()) == {ada}


def test_a_whole_uuid_is_an_identifier_not_part_of_a_name_or_email(sessions):
    # Looked up whole in the identifiers' unique indexes, not in the name and email trigram
    # indexes (benchmarks/backoffice.py): no name or email is a UUID.
    ada, bruno = sessions
    bruno.customer.__class__.objects.filter(pk=bruno.customer_id).update(
        email=f"{ada.provider_session_id}@relay.example"
    )
    assert found(ada.provider_session_id) == {ada}
    assert found(ada.provider_session_id[:8]) == {ada, bruno}  # a part is searched everywhere


@pytest.mark.parametrize(
    ("word", "whole"),
    [
        ("0f8fad5b-d9cb-469f-a165-70867728950e", True),
        ("0F8FAD5B-D9CB-469F-A165-70867728950E", True),
        ("0f8fad5b-d9cb-469f-a165-70867728950", False),  # one character short
        ("0f8fad5bd9cb469fa16570867728950e", False),  # not as we write them
        ("x0f8fad5b-d9cb-469f-a165-70867728950e", False),
        ("lovelace", False),
    ],
)
def test_whole_identifiers_are_uuids_as_written(word, whole):
    assert selectors.is_whole_identifier(word) is whole


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
