"""After a resubmission request the end user reads every quality reason of the decision in the
provider's words (ShareID gives several reasons at once), each sentence once, never a fraud
reason; the API keeps its one deciding reason. The decision is recorded from a real ShareID
result through the normalizer and kyc's update service, as the poller records it."""

from __future__ import annotations

import re

import pytest

from kyc import status as st
from kyc.flow.reasons import (
    GENERAL_RESUBMISSION,
    decision_reason_codes,
    latest_resubmission_reason,
    resubmission_messages,
)
from kyc.models import ProviderDecision, VerificationSession
from kyc.services.updates import session_apply_update
from providers.shareid import normalize
from providers.shareid.provider import NOT_EXTRACTED_MESSAGE, RESUBMISSION_MESSAGES

pytestmark = pytest.mark.django_db

APPLICANT = "ap-20240101120000000-sim0-0123456789"


def _decided(customer, reasons: list[str]) -> VerificationSession:
    session = VerificationSession.objects.create(
        customer=customer, provider="shareid", provider_session_id=APPLICANT, status=st.CREATED
    )
    result = {"applicant_id": APPLICANT, "reasons": reasons, "document": {"ocr": {}}}
    session_apply_update(provider="shareid", update=normalize.update_from_result(result, APPLICANT))
    session.refresh_from_db()
    return session


def _page_reasons(client, session) -> list[str]:
    page = client.get(f"/verify/return/{session.reference}/").content.decode()
    return re.findall(r'class="reason" data-testid="reason">([^<]*)<', page)


def test_every_quality_reason_is_shown_in_words_each_sentence_once(client, customer):
    session = _decided(
        customer, ["no_doc", "face_insufficient_quality", "name_not_extracted", "surname_not_extracted"]
    )
    assert session.status == st.RESUBMISSION_REQUESTED

    shown = _page_reasons(client, session)

    # name and surname not read: one sentence for both.
    assert shown == [
        str(RESUBMISSION_MESSAGES["no_doc"]),
        str(RESUBMISSION_MESSAGES["face_insufficient_quality"]),
        str(RESUBMISSION_MESSAGES["name_not_extracted"]),
    ]


def test_one_reason_is_one_sentence_and_an_ocr_failure_we_have_no_words_for_gets_the_general_ones(
    client, customer
):
    session = _decided(customer, ["doc_num_not_extracted"])
    assert _page_reasons(client, session) == [str(NOT_EXTRACTED_MESSAGE)]


def test_a_fraud_reason_beside_quality_ones_is_never_shown(client, customer):
    # ShareID's fraud reasons decide (a decline): the end user reads no reason at all.
    session = _decided(customer, ["no_doc", "doc_spoof"])
    assert session.status == st.DECLINED
    page = client.get(f"/verify/return/{session.reference}/").content.decode()
    assert 'data-testid="reason"' not in page and "spoof" not in page
    # Even if a resubmission decision listed one (a provider's mistake), its words are staff's.
    decision = session.decisions.get()
    ProviderDecision.objects.filter(pk=decision.pk).update(status=st.RESUBMISSION_REQUESTED)
    VerificationSession.objects.filter(pk=session.pk).update(status=st.RESUBMISSION_REQUESTED)
    session.refresh_from_db()
    assert decision_reason_codes(session.decisions.get()) == ["doc_spoof", "no_doc"]
    assert resubmission_messages(session) == [str(RESUBMISSION_MESSAGES["no_doc"])]


def test_a_redacted_decision_falls_back_to_its_deciding_reason(client, customer):
    session = _decided(customer, ["no_face", "no_doc"])
    ProviderDecision.objects.filter(session=session).update(raw={})
    assert _page_reasons(client, session) == [str(RESUBMISSION_MESSAGES["no_face"])]


def test_a_reason_without_words_anywhere_gets_the_general_sentence(client, customer):
    session = _decided(customer, ["no_face"])
    ProviderDecision.objects.filter(session=session).update(raw={}, reason_code="")
    assert _page_reasons(client, session) == [str(GENERAL_RESUBMISSION)]


def test_the_api_keeps_the_deciding_reason(customer):
    session = _decided(customer, ["no_face", "no_doc"])
    assert latest_resubmission_reason(session) == ("no_face", str(RESUBMISSION_MESSAGES["no_face"]))
