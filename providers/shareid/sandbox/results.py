"""What ShareID answers about a finished onboarding or authenticate flow (../README.md, "Result"):
the rejection reasons it knows, the fake document it "read", and the result's JSON as the fetch and
the callback carry it.

There is no status field: `reasons == []` is an acceptance, anything else a rejection. The groups
below only arrange the SDK page's checkboxes; what a reason means for a case is the app's decision.
"""

import base64
import datetime as dt
from typing import Any

from django.utils import timezone

from . import images
from .models import Applicant, Capture, Flow

# ShareID's rejection reasons (the union of its documentation's versions), grouped for the page.
REASON_GROUPS: dict[str, dict[str, str]] = {
    "fraud": {
        "doc_spoof": "Document printed or shown on a screen",
        "doc_inject": "Document injected or digitally modified",
        "doc_mismatch": "Front and back do not match",
        "doc_fraud": "Fraud suspected on the document",
        "face_spoof": "Face printed or shown on a screen",
        "face_inject": "Face injected (deepfake)",
        "face_fraud": "The face is not the document holder's",
        # Fraud as the app reads it (providers/shareid/README.md, "Reasons"): a person playing
        # the end user who picks it expects the decline the group says.
        "multiple_faces": "Several faces in the video",
    },
    "quality": {
        "doc_expired": "Document expired",
        "no_doc": "No document detected (blurry, hidden, badly lit)",
        "no_face": "No face detected (blurry, hidden)",
        "face_insufficient_quality": "Face quality too low",
        "name_not_extracted": "Given name not read",
        "surname_not_extracted": "Surname not read",
        "date_not_extracted": "Date not read",
    },
    "technical": {
        "analysis_failed": "The analysis failed",
        "operator_failed": "The operator's check failed",
    },
}
REASONS: dict[str, str] = {code: text for group in REASON_GROUPS.values() for code, text in group.items()}
# An authenticate flow checks a face against the one onboarded: only these apply.
FACE_REASONS = (
    "no_face",
    "face_insufficient_quality",
    "face_spoof",
    "face_inject",
    "face_fraud",
    "multiple_faces",
    "analysis_failed",
    "operator_failed",
)
DOC_TYPES = ("id_card", "passport", "driver_permit", "residency_permit")
# ShareID's OCR fields ("if it appears on the document"); the sandbox fills the usual ones.
OCR_FIELDS = (
    "doc_num",
    "surname",
    "alternate_name",
    "widow_of",
    "mariage_name",
    "name",
    "height",
    "birth_place",
    "birth_date",
    "address",
    "expiration_date",
    "issuance_date",
    "issuance_place",
)
IMAGE_FIELDS = tuple(Capture.Kind.values)


def default_document(applicant_id: str, *, doc_type: str = "id_card") -> dict[str, Any]:
    """A plainly fake French ID card. Dates are YYYY-MM-DD; the number follows the applicant id, so
    two onboardings do not read the same document."""
    today = timezone.now().date()
    return {
        "type": {"doc_type": doc_type, "doc_model": "2021", "country_code": "fr"},
        "ocr": {
            "doc_num": "SBX" + applicant_id[-6:].upper(),
            "surname": "SANDBOX",
            "name": "CAMILLE",
            "birth_date": "1990-04-01",
            "birth_place": "PARIS",
            "expiration_date": (today + dt.timedelta(days=5 * 365)).isoformat(),
            "issuance_date": (today - dt.timedelta(days=5 * 365)).isoformat(),
            "issuance_place": "PARIS",
        },
    }


def document_with(applicant_id: str, *, ocr: dict[str, str], doc_type: str = "id_card") -> dict[str, Any]:
    document = default_document(applicant_id, doc_type=doc_type)
    document["ocr"].update({key: value for key, value in ocr.items() if value != ""})
    return document


def captures_make(applicant: Applicant) -> list[Capture]:
    """The images of a finished onboarding, drawn from what its document says."""
    return [
        Capture(applicant=applicant, kind=kind, content_type=content_type, content=content)
        for kind, content_type, content in images.capture_images(applicant.id, applicant.document)
    ]


def onboarding_result(applicant: Applicant, *, with_images: bool) -> dict[str, Any]:
    """The result as fetched (without customer_data) from a completed applicant."""
    document: dict[str, Any] = {
        "type": applicant.document.get("type", {}),
        "ocr": applicant.document.get("ocr", {}),
        **dict.fromkeys(IMAGE_FIELDS),
    }
    if with_images:
        for capture in applicant.captures.all():
            document[capture.kind] = base64.b64encode(bytes(capture.content)).decode("ascii")
    return {"applicant_id": applicant.id, "reasons": list(applicant.reasons or []), "document": document}


def authenticate_result(flow: Flow) -> dict[str, Any]:
    return {"flow_id": str(flow.id), "applicant_id": flow.applicant_id, "reasons": list(flow.reasons or [])}
