"""A provider that only implements the interface (tests/fake_provider.py: no words for its codes, no
optional capability) still has its cases shown everywhere staff read them: the case page, the queue
with its filters, and the staff API. Proof that a new provider does not fail there."""

import re

import pytest
from rest_framework.test import APIClient

from api.services import api_key_create
from kyc.models import VerificationSession
from kyc.services import updates
from tests.factories import SessionFactory
from tests.fake_provider import DOTTED, decision_update
from tests.providers_config import with_provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny_case(settings, customer):
    with_provider(settings, "tiny", DOTTED)
    session = SessionFactory(customer=customer, provider="tiny", provider_session_id="tiny-1", hosted_url="")
    updates.session_apply_update(provider="tiny", update=decision_update("tiny-1", "declined", "T-9"))
    session.refresh_from_db()
    assert session.status == "declined"
    return session


def test_the_case_page_shows_a_decision_of_a_provider_without_words_for_its_codes(
    client, tiny_case, supervisor
):
    client.force_login(supervisor)
    response = client.get(f"/admin/kyc/case/{tiny_case.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "reason T-9 — unknown code" in page and "Tiny says so." in page


def test_the_queue_and_its_filters_list_the_case(client, tiny_case, make_case, supervisor):
    veriff_case = make_case("declined")  # beside a Veriff case, whose reasons have words
    client.force_login(supervisor)
    for query, expected in [
        ("", {tiny_case.pk, veriff_case.pk}),
        ("provider=tiny", {tiny_case.pk}),
        ("reason_code=T-9", {tiny_case.pk}),
        ("reason_code=102", {veriff_case.pk}),
    ]:
        response = client.get(f"/admin/kyc/case/?all=&{query}")
        assert response.status_code == 200, query
        page = response.content.decode()
        rows = {int(pk) for pk in re.findall(r'name="_selected_action" value="(\d+)"', page)}
        assert rows == expected, query
    page = client.get("/admin/kyc/case/?all=").content.decode()
    # The reason filter offers the tiny code bare and Veriff's with its words.
    assert "reason_code=T-9" in page
    assert "102 — " in page


def test_the_staff_api_explains_what_it_can_and_leaves_the_rest_empty(tiny_case):
    _, raw = api_key_create(name="staff", scopes=["read", "write", "staff"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    queue = api.get("/api/v1/staff/review-queue/")
    assert queue.status_code == 200
    assert [case["id"] for case in queue.json()["results"]] == [str(tiny_case.reference)]
    case = api.get(f"/api/v1/staff/cases/{tiny_case.reference}/")
    assert case.status_code == 200
    [decision] = case.json()["decisions"]
    assert decision["code"] == 77 and decision["reason_code"] == "T-9"
    assert decision["code_explained"] == "" and decision["reason_code_explained"] == ""


def test_a_session_of_a_provider_no_longer_enabled_still_shows(client, tiny_case, supervisor, settings):
    settings.KYC_PROVIDERS = {k: v for k, v in settings.KYC_PROVIDERS.items() if k != "tiny"}
    client.force_login(supervisor)
    assert client.get(f"/admin/kyc/case/{tiny_case.pk}/change/").status_code == 200
    assert client.get("/admin/kyc/case/?all=").status_code == 200


def test_veriff_decisions_keep_their_words(client, make_case, supervisor):
    session = make_case("declined", reason_code=103)
    assert VerificationSession.objects.get(pk=session.pk).provider == "veriff"
    client.force_login(supervisor)
    page = client.get(f"/admin/kyc/case/{session.pk}/change/").content.decode()
    assert "reason 103 — Person showing the document" in page
