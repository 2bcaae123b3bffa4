"""ShareID results → decisions, person and document, and inline images
(providers/shareid/normalize.py)."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers import base
from providers.base import MEDIA_INLINE
from providers.shareid import normalize
from tests.providers.shareid.support import APPLICANT, JPEG, PNG, b64, result

FRAUD = [
    "doc_spoof",
    "doc_inject",
    "doc_mismatch",
    "doc_fraud",
    "face_spoof",
    "face_inject",
    "face_fraud",
    "multiple_faces",
]
QUALITY = [
    "no_doc",
    "doc_expired",
    "no_face",
    "face_insufficient_quality",
    "name_not_extracted",
    "surname_not_extracted",
    "date_not_extracted",
]


def _update(reasons=(), **kwargs):
    return normalize.update_from_result(result(reasons, **kwargs), APPLICANT)


# -- the decision table ----------------------------------------------------------------------------
@pytest.mark.parametrize("reasons", [[], None])
def test_no_reasons_is_an_approval(reasons):
    update = _update(reasons)
    assert update.status == base.APPROVED
    assert update.decision.status == base.APPROVED and update.decision.provider_status == "accepted"
    assert update.decision.reason_code == "" and update.decision.reason == ""


@pytest.mark.parametrize("reason", FRAUD)
def test_a_fraud_reason_is_a_decline_of_the_fraud_kind(reason, shareid):
    update = _update([reason])
    assert update.status == base.DECLINED and update.decision.reason_code == reason
    assert update.decision.provider_status == "rejected"
    assert shareid.decline_reason_kind(reason) == base.DECLINE_FRAUD


@pytest.mark.parametrize("reason", ["analysis_failed", "operator_failed", "brand_new_reason"])
def test_a_technical_or_unknown_reason_goes_to_review(reason):
    update = _update([reason])
    assert update.status == base.REVIEW and update.decision.reason_code == reason


@pytest.mark.parametrize("reason", [*QUALITY, "address_not_extracted"])
def test_a_quality_reason_asks_for_a_resubmission(reason):
    update = _update([reason])
    assert update.status == base.RESUBMISSION_REQUESTED and update.decision.reason_code == reason


@pytest.mark.parametrize(
    ("reasons", "status", "deciding"),
    [
        (["no_face", "face_spoof"], base.DECLINED, "face_spoof"),
        (["analysis_failed", "doc_fraud", "no_doc"], base.DECLINED, "doc_fraud"),
        (["no_doc", "operator_failed"], base.REVIEW, "operator_failed"),
        (["no_doc", "something_new"], base.REVIEW, "something_new"),
        (["no_doc", "doc_expired"], base.RESUBMISSION_REQUESTED, "no_doc"),
    ],
)
def test_fraud_comes_before_review_before_quality(reasons, status, deciding):
    update = _update(reasons)
    assert (update.status, update.decision.reason_code) == (status, deciding)


def test_every_reason_is_kept_in_the_raw_list_and_in_the_decision():
    update = _update(["no_face", "face_spoof", "mystery"])
    assert update.raw["reasons"] == ["no_face", "face_spoof", "mystery"]
    assert update.decision.reason_codes == ("no_face", "face_spoof", "mystery")
    assert update.decision.reason_code == "face_spoof"
    # The words are staff's (explain_reason, where the reasons are shown), not ShareID's.
    assert update.decision.reason == ""


def test_a_reasons_list_that_cannot_be_read_is_said_in_the_decision():
    update = _update("no_face")
    assert update.decision.reason_codes == () and "could not be read" in update.decision.reason


@pytest.mark.parametrize("reasons", ["no_face", {"no_face": True}, 0, [None], [""], [7]])
def test_reasons_that_cannot_be_read_never_approve(reasons):
    assert _update(reasons).status == base.REVIEW


def test_a_result_without_reasons_goes_to_review():
    data = result()
    del data["reasons"]
    assert normalize.update_from_result(data, APPLICANT).status == base.REVIEW


def test_a_result_naming_another_applicant_is_refused():
    with pytest.raises(ValueError, match="another applicant"):
        normalize.update_from_result(result(applicant_id="ap-other"), APPLICANT)


def test_the_dedupe_key_is_one_per_applicant_result():
    first, second = _update(["no_face"]), _update(["no_face"])
    assert first.dedupe_key == second.dedupe_key == f"shareid:result:{APPLICANT}"
    assert first.attempt_id == APPLICANT and not first.hint


def test_every_known_reason_has_staff_words():
    for code in [*FRAUD, *QUALITY, "analysis_failed", "operator_failed"]:
        assert normalize.explain(code), code
    assert normalize.explain("height_not_extracted") == "Height could not be read"
    assert normalize.explain("nonsense") == ""


# -- OCR -------------------------------------------------------------------------------------------
def test_the_ocr_lands_under_veriffs_keys():
    decision = _update().decision
    assert decision.person == {
        "firstName": "SARAH",
        "lastName": "MORGAN",
        "dateOfBirth": "1990-04-12",
        "placeOfBirth": "LYON",
    }
    assert decision.document == {
        "number": "18AB12345",
        "type": "PASSPORT",
        "country": "FR",
        "model": "2006",
        "validFrom": "2021-07-01",
        "validUntil": "2031-06-30",
    }


@pytest.mark.parametrize(
    ("written", "iso"),
    [
        ("1990-04-12", "1990-04-12"),
        ("12/04/1990", "1990-04-12"),
        ("12.04.1990", "1990-04-12"),
        (" 12-04-1990 ", "1990-04-12"),
        ("19900412", "1990-04-12"),
        ("31/02/1990", ""),
        ("yesterday", ""),
        ("", ""),
        (None, ""),
        (19900412, ""),
    ],
)
def test_ocr_dates_are_read_leniently_and_a_bad_one_is_blank(written, iso):
    assert normalize.parse_date(written) == iso
    assert _update(birth_date=written).decision.person.get("dateOfBirth", "") == iso


@given(st.one_of(st.text(max_size=60), st.integers(), st.none(), st.floats(allow_nan=True)))
def test_parse_date_never_raises(value):
    parsed = normalize.parse_date(value)
    assert parsed == "" or len(parsed) == 10


def test_a_document_without_ocr_gives_empty_person_and_type_only():
    data = result()
    data["document"] = {"type": {"doc_type": "driver_permit", "country_code": "de"}, "ocr": None}
    decision = normalize.update_from_result(data, APPLICANT).decision
    assert decision.person == {} and decision.document == {"type": "DRIVERS_LICENSE", "country": "DE"}


def test_a_result_without_a_document_is_still_a_decision():
    decision = normalize.update_from_result({"applicant_id": APPLICANT, "reasons": []}, APPLICANT).decision
    assert decision.status == base.APPROVED and decision.person == {} and decision.document == {}


# -- images ----------------------------------------------------------------------------------------
def test_the_images_become_inline_media_with_our_contexts():
    update = _update()
    media = {item.name: item for item in update.media}
    assert {name: item.context for name, item in media.items()} == {
        "doc_front": "document-front",
        "doc_back": "document-back",
        "face_face": "face",
        "face_doc": "document-face",
    }
    assert media["doc_front"].content == JPEG and media["doc_front"].mime_type == "image/jpeg"
    assert media["doc_back"].content == PNG and media["doc_back"].mime_type == "image/png"
    for name, item in media.items():
        assert item.provider_media_id == f"{APPLICANT}:{name}" and item.source == MEDIA_INLINE
        assert item.size == len(item.content) and item.attempt_id == APPLICANT and item.kind == "image"


def test_the_images_are_never_in_raw():
    update = _update()
    assert set(update.raw["document"]) == {"type", "ocr"}
    assert b64(JPEG) not in json.dumps(update.raw)


def test_the_base64_strings_are_dropped_from_the_parsed_result():
    data = result()
    normalize.update_from_result(data, APPLICANT)
    # Consumed: only the decoded bytes remain (the strings can be megabytes each).
    assert not set(normalize.IMAGE_CONTEXTS) & set(data["document"])


def test_null_images_give_no_media():
    assert _update(images=False).media == ()


def test_a_bad_base64_image_is_skipped_with_a_warning_and_the_others_kept(caplog):
    data = result()
    data["document"]["doc_back"] = "%%% not base64 %%%"
    data["document"]["face_doc"] = ""
    with caplog.at_level(logging.WARNING, logger="providers.shareid.normalize"):
        update = normalize.update_from_result(data, APPLICANT)
    assert sorted(item.name for item in update.media) == ["doc_front", "face_face"]
    assert "doc_back is not base64" in caplog.text and APPLICANT in caplog.text
    assert "%%%" not in caplog.text


@pytest.mark.parametrize(
    "written",
    [
        "data:image/jpeg;base64," + base64.b64encode(JPEG).decode(),
        base64.encodebytes(JPEG).decode(),  # MIME: a line break every 76 characters
    ],
)
def test_base64_with_a_data_prefix_or_line_breaks_is_read(written):
    data = result()
    data["document"]["doc_front"] = written
    media = {item.name: item for item in normalize.update_from_result(data, APPLICANT).media}
    assert media["doc_front"].content == JPEG


@given(
    st.one_of(st.text(max_size=80), st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode() + "="))
)
def test_any_image_string_is_decoded_or_skipped_never_a_crash(text):
    data = result()
    data["document"]["doc_front"] = text
    update = normalize.update_from_result(data, APPLICANT)
    assert all(item.content for item in update.media)
