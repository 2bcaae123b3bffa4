"""A ShareID case where staff read it: every reason of the decision in words (case page, staff API,
the queue's reason filter), the OCR compared with our record, and ShareID named "ShareID".

The decisions come through ShareID's real normalizer and kyc.services, from results shaped as
ShareID's fetch answers them (tests/providers/shareid/support.py)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from rest_framework.test import APIClient

from api.services import api_key_create
from kyc.models import Customer, ProviderDecision
from kyc.queue import case_detail
from kyc.services import updates
from providers.shareid import normalize
from tests.factories import SessionFactory
from tests.providers.shareid.support import APPLICANT, result

pytestmark = pytest.mark.django_db


def shareid_case(customer, reasons, applicant_id=APPLICANT, **ocr):
    session = SessionFactory(
        customer=customer, provider="shareid", provider_session_id=applicant_id, hosted_url=""
    )
    update = normalize.update_from_result(result(reasons, applicant_id=applicant_id, **ocr), applicant_id)
    updates.session_apply_update(provider="shareid", update=update)
    session.refresh_from_db()
    return session


@pytest.fixture
def declined(customer):
    """Declined for a face spoof, with a quality reason and one ShareID has not told us of."""
    return shareid_case(customer, ["no_face", "face_spoof", "brand_new_reason"])


def test_kyc_records_every_reason_and_the_deciding_one(declined):
    decision = ProviderDecision.objects.get(session=declined)
    assert declined.status == "declined" and decision.reason_code == "face_spoof"
    assert decision.reason_codes == ["no_face", "face_spoof", "brand_new_reason"]


def test_a_provider_with_one_code_keeps_it_as_its_list(make_case):
    session = make_case("declined", reason_code=103)  # through Veriff's normalizer
    decision = ProviderDecision.objects.get(session=session)
    assert decision.reason_code == "103" and decision.reason_codes == ["103"]
    # A decision recorded before the list was kept reads as its one code.
    ProviderDecision.objects.filter(pk=decision.pk).update(reason_codes=[])
    assert ProviderDecision.objects.get(pk=decision.pk).reasons == ["103"]


def test_the_case_page_shows_each_reason_in_words(client, declined, supervisor):
    client.force_login(supervisor)
    response = client.get(f"/admin/kyc/case/{declined.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "no_face — Face not detected, blurry or covered" in page
    assert "face_spoof — Face printed or shown on a screen" in page
    assert "brand_new_reason — unknown code" in page
    assert "(deciding: face_spoof)" in page


def test_the_staff_api_gives_each_reason_with_its_words(declined):
    _, raw = api_key_create(name="staff", scopes=["read", "write", "staff"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    case = api.get(f"/api/v1/staff/cases/{declined.reference}/")
    assert case.status_code == 200
    [decision] = case.json()["decisions"]
    assert decision["reason_code"] == "face_spoof"
    assert decision["reason_code_explained"] == "Face printed or shown on a screen"
    assert decision["reason_codes"] == ["no_face", "face_spoof", "brand_new_reason"]
    assert decision["reason_codes_explained"] == [
        {"code": "no_face", "explained": "Face not detected, blurry or covered"},
        {"code": "face_spoof", "explained": "Face printed or shown on a screen"},
        {"code": "brand_new_reason", "explained": ""},
    ]


def _listed(client, query: str) -> set[int]:
    response = client.get(f"/admin/kyc/case/?all=&{query}")
    assert response.status_code == 200, query
    return {int(pk) for pk in re.findall(r'name="_selected_action" value="(\d+)"', response.content.decode())}


def test_the_reason_filter_offers_shareid_reasons_in_words_and_filters_by_the_deciding_one(
    client, declined, make_case, supervisor
):
    other = Customer.objects.create(external_ref="CUST-2", first_name="Tom", last_name="Lee", country="FR")
    review = shareid_case(
        other, ["no_doc", "analysis_failed"], applicant_id="ap-20261203101303909-sim0-0000000002"
    )
    veriff_case = make_case("declined")
    client.force_login(supervisor)
    page = client.get("/admin/kyc/case/?all=").content.decode()
    assert "face_spoof — Face printed or shown on a screen" in page
    assert "analysis_failed — ShareID&#x27;s analysis failed (technical)" in page
    assert _listed(client, "reason_code=face_spoof") == {declined.pk}
    assert _listed(client, "reason_code=analysis_failed") == {review.pk}
    assert _listed(client, "reason_code=102") == {veriff_case.pk}
    # The filter goes by the deciding reason: a reason that did not decide finds no case.
    assert _listed(client, "reason_code=no_doc") == set()


def test_the_ocr_is_compared_with_our_record(customer):
    Customer.objects.filter(pk=customer.pk).update(date_of_birth=dt.date(1990, 4, 12))
    customer.refresh_from_db()
    # The document reads MORGANE (our record: Morgan), the right date of birth, a passport that
    # expired before ShareID decided.
    session = shareid_case(customer, [], surname="MORGANE", expiration_date="15/06/2020")
    assert session.status == "approved"
    compared = {row.label: row for row in case_detail(session.pk).comparison}
    assert compared["First name"].verified == "SARAH" and not compared["First name"].mismatch
    assert compared["Last name"].verified == "MORGANE" and compared["Last name"].mismatch
    assert compared["Date of birth"].verified == dt.date(1990, 4, 12)
    assert not compared["Date of birth"].mismatch
    # The issuing country beside ours (GB): shown, not a mismatch (a French passport holder may live here).
    assert (
        compared["Country"].verified == "FR" and compared["Country"].note == "issuing country of the document"
    )
    assert compared["Document"].verified == "PASSPORT 18AB12345"
    assert compared["Document valid until"].verified == dt.date(2020, 6, 15)
    assert compared["Document valid until"].mismatch


def test_the_case_page_shows_the_comparison(client, customer, supervisor):
    session = shareid_case(customer, [], surname="MORGANE")
    client.force_login(supervisor)
    page = client.get(f"/admin/kyc/case/{session.pk}/change/").content.decode()
    assert "MORGANE" in page and "18AB12345" in page
    assert page.count('class="bo-mismatch"') == 1  # the last name
