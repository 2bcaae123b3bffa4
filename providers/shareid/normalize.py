"""ShareID results → normalized updates (README.md here, "Results", "Reasons", "Images").

A result has no status field: its `reasons` list is the verdict (empty or null: accepted). Each
reason is sorted into fraud, technical or quality, and the most serious kind present decides
(`decide`). The OCR fields become a decision's person and document under the keys Veriff's
normalizer uses, so that the case page compares them with our record unchanged. The base64 images
become MEDIA_INLINE items, decoded once each, and never stay in the raw payload.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import math
import re
from collections.abc import Mapping
from typing import Any

from providers import base
from providers.base import MEDIA_INLINE, Decision, MediaItem, ProviderUpdate, WebhookMalformed

logger = logging.getLogger(__name__)

FRAUD = "fraud"
TECHNICAL = "technical"
QUALITY = "quality"

# Every reason ShareID's result pages list (their versions together), its kind, and staff's words.
REASONS: dict[str, tuple[str, str]] = {
    "doc_spoof": (FRAUD, "Document printed or shown on a screen"),
    "doc_inject": (FRAUD, "Document injected or digitally modified"),
    "doc_mismatch": (FRAUD, "Front and back of the document do not match"),
    "doc_fraud": (FRAUD, "Fraud suspected on the document"),
    "face_spoof": (FRAUD, "Face printed or shown on a screen"),
    "face_inject": (FRAUD, "Face injected (deepfake)"),
    "face_fraud": (FRAUD, "The face is not the document holder's"),
    "multiple_faces": (FRAUD, "Several faces in the video"),
    "analysis_failed": (TECHNICAL, "ShareID's analysis failed (technical)"),
    "operator_failed": (TECHNICAL, "ShareID's human operator step failed"),
    "no_doc": (QUALITY, "Document not detected, blurry, covered or poorly lit"),
    "doc_expired": (QUALITY, "Document expired"),
    "no_face": (QUALITY, "Face not detected, blurry or covered"),
    "face_insufficient_quality": (QUALITY, "Face quality too low to be compared"),
    "name_not_extracted": (QUALITY, "First name could not be read from the document"),
    "surname_not_extracted": (QUALITY, "Last name could not be read from the document"),
    "date_not_extracted": (QUALITY, "Date of birth could not be read from the document"),
}
# ShareID may add OCR failures for other fields: they are quality reasons all the same.
NOT_EXTRACTED = re.compile(r"[a-z_]+_not_extracted")

# The most serious kind present decides, and fraud comes first: a fraud signal must reach a
# person, never be turned into "try again" by a quality reason beside it (which would also tell a
# fraudster what to fix). A technical failure, or a reason we do not know, needs a person before
# the customer is asked anything. Only a result whose every reason is about photo quality or
# reading is put back to the customer.
KIND_STATUS = ((FRAUD, base.DECLINED), (TECHNICAL, base.REVIEW), (QUALITY, base.RESUBMISSION_REQUESTED))

# The result's images (README.md here, "Images") and our media contexts for them: face_face is
# the live face, face_doc the portrait cut from the document.
IMAGE_CONTEXTS = {
    "doc_front": "document-front",
    "doc_back": "document-back",
    "face_face": "face",
    "face_doc": "document-face",
}

# doc_type → the document types Veriff's decisions carry (the case page shows them side by side).
DOCUMENT_TYPES = {
    "passport": "PASSPORT",
    "id_card": "ID_CARD",
    "driver_permit": "DRIVERS_LICENSE",
    "residency_permit": "RESIDENCE_PERMIT",
}
# Dates as ShareID's OCR may write them (the sandbox: ISO; documents: day first).
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d", "%Y%m%d")

ACCEPTED = "accepted"
REJECTED = "rejected"


def reason_kind(code: str) -> str:
    """FRAUD, TECHNICAL or QUALITY; TECHNICAL for a reason we do not know (a person looks)."""
    known = REASONS.get(code)
    if known:
        return known[0]
    return QUALITY if NOT_EXTRACTED.fullmatch(code) else TECHNICAL


def explain(code: str) -> str:
    known = REASONS.get(code)
    if known:
        return known[1]
    if NOT_EXTRACTED.fullmatch(code):
        return f"{code[: -len('_not_extracted')].replace('_', ' ').capitalize()} could not be read"
    return ""


def reason_list(value: Any) -> list[str] | None:
    """The result's reasons as strings; None when there is no readable list (then nobody is
    approved: `decide` sends it to review)."""
    if value is None:
        return []
    if not isinstance(value, list):
        return None
    # Only an empty list approves: an item we cannot read (null, "", a number) stays a reason.
    return [
        str(reason).strip()[:100] if isinstance(reason, str) else json.dumps(reason)[:100] for reason in value
    ]


def decide(reasons: list[str] | None) -> tuple[str, str]:
    """The normalized status and the deciding reason code ("" for an approval)."""
    if reasons is None:
        return base.REVIEW, ""
    if not reasons:
        return base.APPROVED, ""
    kinds = [reason_kind(code) for code in reasons]
    for kind, status in KIND_STATUS:
        if kind in kinds:
            return status, reasons[kinds.index(kind)]
    raise AssertionError("every reason has a kind")


def reasons_in_words(reasons: list[str] | None) -> str:
    if reasons is None:
        return "The result's reasons could not be read"
    return "; ".join(f"{code}: {explain(code) or 'unknown reason'}" for code in reasons)


def parse_date(value: Any) -> str:
    """An OCR date as ISO YYYY-MM-DD; "" for anything unreadable (never an error: OCR is noisy)."""
    if not isinstance(value, str) or not value.strip():
        return ""
    text = value.strip()[:40]
    for pattern in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern).date().isoformat()
        except ValueError:
            continue
    return ""


def _text(value: Any, limit: int = 200) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def person_and_document(document: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """`document.ocr` and `document.type` under the keys of Veriff's decisions (firstName,
    lastName, dateOfBirth; number, type, country, validFrom, validUntil), blanks left out."""
    ocr = document.get("ocr") if isinstance(document.get("ocr"), Mapping) else {}
    kind = document.get("type") if isinstance(document.get("type"), Mapping) else {}
    doc_type = _text(kind.get("doc_type"), 40).lower()
    person = {
        "firstName": _text(ocr.get("name")),
        "lastName": _text(ocr.get("surname")),
        "dateOfBirth": parse_date(ocr.get("birth_date")),
        "placeOfBirth": _text(ocr.get("birth_place")),
        "address": _text(ocr.get("address"), 500),
    }
    card = {
        "number": _text(ocr.get("doc_num"), 100),
        "type": DOCUMENT_TYPES.get(doc_type, doc_type.upper()),
        "country": _text(kind.get("country_code"), 3).upper(),
        "model": _text(kind.get("doc_model"), 40),
        "validFrom": parse_date(ocr.get("issuance_date")),
        "validUntil": parse_date(ocr.get("expiration_date")),
        "placeOfIssue": _text(ocr.get("issuance_place")),
    }
    return {k: v for k, v in person.items() if v}, {k: v for k, v in card.items() if v}


def _mime(content: bytes) -> str:
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return ""


def _decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    # Lenient second try: a data: URL prefix, line breaks (MIME base64).
    if text.startswith("data:") and "," in text[:100]:
        text = text[text.index(",") + 1 :]
    return base64.b64decode("".join(text.split()), validate=True)


def take_media(document: dict[str, Any], applicant_id: str) -> tuple[MediaItem, ...]:
    """The result's images as MEDIA_INLINE items, each decoded once and its base64 string removed
    from `document` (it can be megabytes: never held twice, never left in the raw payload). An
    image that is not base64 is skipped with a warning; the others are kept."""
    items = []
    for field, context in IMAGE_CONTEXTS.items():
        text = document.pop(field, None)
        if not isinstance(text, str) or not text:
            continue
        try:
            content = _decode(text)
        except (binascii.Error, ValueError):
            content = b""
        del text
        if not content:
            logger.warning("ShareID applicant %s: image %s is not base64, skipped", applicant_id, field)
            continue
        items.append(
            MediaItem(
                provider_media_id=f"{applicant_id}:{field}",
                context=context,
                name=field,
                mime_type=_mime(content),
                size=len(content),
                attempt_id=applicant_id,
                kind="image",
                source=MEDIA_INLINE,
                content=content,
            )
        )
    return tuple(items)


def _without_images(
    result: dict[str, Any], applicant_id: str
) -> tuple[dict[str, Any], tuple[MediaItem, ...]]:
    """The result's images taken out (take_media) and the rest, as it may be kept."""
    document = result.get("document")
    media: tuple[MediaItem, ...] = ()
    raw = dict(result)
    if isinstance(document, dict):
        media = take_media(document, applicant_id)
        raw["document"] = {k: v for k, v in document.items() if k not in IMAGE_CONTEXTS}
    customer_data = raw.get("customer_data")
    if "customer_data" in raw:
        # Only our reference: anything else in it is not ours to keep (we send nothing else).
        reference = customer_data.get("reference") if isinstance(customer_data, dict) else None
        raw["customer_data"] = {"reference": reference} if isinstance(reference, str) else {}
    return raw, media


def update_from_result(result: dict[str, Any], applicant_id: str) -> ProviderUpdate:
    """A fetched onboarding result as the session's decision, with its images as media. `result`
    is consumed: its images are taken out of it."""
    named = result.get("applicant_id")
    if isinstance(named, str) and named and named != applicant_id:
        raise ValueError("the result names another applicant")
    reasons = reason_list(result.get("reasons")) if "reasons" in result else None
    status, deciding = decide(reasons)
    raw, media = _without_images(result, applicant_id)
    document = raw.get("document") if isinstance(raw.get("document"), dict) else {}
    person, card = person_and_document(document)
    decision = Decision(
        status=status,
        provider_status=ACCEPTED if reasons == [] else REJECTED,
        # ShareID gives codes and no words of its own: each code is kept (reason_codes) and put in
        # staff's words where it is shown (explain_reason). Only a list we cannot read is said here.
        reason=reasons_in_words(None) if reasons is None else "",
        reason_code=deciding,
        reason_codes=tuple(reasons or ()),
        person=person,
        document=card,
    )
    return ProviderUpdate(
        provider_session_id=applicant_id,
        # One result per applicant: the callback-triggered fetch and the poll apply it once.
        dedupe_key=f"shareid:result:{applicant_id}",
        status=status,
        attempt_id=applicant_id,
        event_code=decision.provider_status,
        decision=decision,
        raw=raw,
        media=media,
    )


def media_from_result(result: dict[str, Any], applicant_id: str) -> list[MediaItem]:
    document = result.get("document")
    return list(take_media(document, applicant_id)) if isinstance(document, dict) else []


# -- the callback ---------------------------------------------------------------------------------
class _NumberOutOfRange(ValueError):
    pass


def _finite_float(text: str) -> float:
    # 1e999 reads as infinity, which PostgreSQL's jsonb cannot hold.
    value = float(text)
    if math.isinf(value):
        raise _NumberOutOfRange("number out of range")
    return value


def _refuse_constant(name: str) -> float:
    raise _NumberOutOfRange(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_refuse_constant)


def load_json_object(body: bytes) -> dict[str, Any]:
    try:
        data = _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except _NumberOutOfRange as exc:
        raise WebhookMalformed(f"body is not valid JSON: {exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookMalformed(f"body is not valid JSON: {type(exc).__name__}") from exc
    except RecursionError as exc:
        raise WebhookMalformed("body is not valid JSON: nested too deeply") from exc
    if not isinstance(data, dict):
        raise WebhookMalformed("body is not a JSON object")
    return data


def callback_applicant(data: Mapping[str, Any]) -> str:
    applicant_id = data.get("applicant_id")
    # A NUL or an unpaired surrogate is no id of ShareID's (and no database column holds it).
    if not isinstance(applicant_id, str) or not applicant_id.strip() or not applicant_id.isprintable():
        raise WebhookMalformed("applicant_id is required, a string")
    return applicant_id.strip()[:100]


def callback_update(body: bytes, dedupe_key: str) -> ProviderUpdate:
    """The callback as a hint: its images are kept (ShareID may send them only here), its verdict
    never (it is signed by no one): processing fetches the result and applies that."""
    data = load_json_object(body)
    applicant_id = callback_applicant(data)
    raw, media = _without_images(data, applicant_id)
    return ProviderUpdate(
        provider_session_id=applicant_id,
        dedupe_key=dedupe_key,
        status=None,
        attempt_id=applicant_id,
        event_code="callback",
        raw=raw,
        hint=True,
        media=media,
    )
