"""ShareID's API as the tests fake it at the HTTP boundary: its URLs, a provider built on them, and
payloads shaped as ShareID answers them (providers/shareid/README.md, "Endpoints", "Results").
`result()` builds a ready onboarding result with base64 images."""

from __future__ import annotations

import base64
from typing import Any

import responses

from providers.base import SessionRequest
from providers.shareid.provider import ShareIDProvider

API = "https://api.shareid.test"
SDK = "https://sdk.shareid.test/?token={token}"
START = f"{API}/flow/onboarding/auth/business"
FETCH_TOKEN = f"{API}/flow/onboarding/fetch/auth/business"
FETCH = f"{API}/flow/onboarding/fetch"
AUTH_START = f"{API}/flow/authenticate/auth/business"
AUTH_FETCH_TOKEN = f"{API}/flow/authenticate/fetch/auth/business"
AUTH_FETCH = f"{API}/flow/authenticate/fetch"
APPLICANT = "ap-20261203101303909-sim0-24fa8d9e36"
NOT_READY = {"detail": "applicant not found"}

# The images' bytes: a JPEG's and a PNG's signatures, then filler.
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(255, -1, -1)) * 4

OPTIONS: dict[str, Any] = {
    "api_url": API,
    "business_hash": "2915ac99",
    "api_key": "fl-00ea000defabc",
    "sdk_url": SDK,
    "session_duration": 600,
    "poll_seconds": 5.0,
    "callback": True,
    "timeout": 5.0,
}


def provider(**changes: Any) -> ShareIDProvider:
    return ShareIDProvider(**{**OPTIONS, **changes})


def session_request(reference: str = "5b0f6c1e-2f0a-4c53-9d53-6a1f1c0e7a11") -> SessionRequest:
    return SessionRequest(
        reference=reference,
        return_url="https://kyc.example/flow/return/?s=1",
        notification_url="https://kyc.example/webhooks/shareid/?token=n0t1f1cat10n",
        notification_token="n0t1f1cat10n",
    )


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def result(
    reasons: Any = (), *, applicant_id: str = APPLICANT, images: bool = True, **ocr: Any
) -> dict[str, Any]:
    """A ready onboarding result as ShareID's fetch answers it."""
    return {
        "applicant_id": applicant_id,
        "reasons": list(reasons) if isinstance(reasons, tuple | list) else reasons,
        "document": {
            "type": {"doc_type": "passport", "doc_model": "2006", "country_code": "fr"},
            "ocr": {
                "doc_num": "18AB12345",
                "surname": "MORGAN",
                "name": "SARAH",
                "birth_date": "1990-04-12",
                "birth_place": "LYON",
                "expiration_date": "2031-06-30",
                "issuance_date": "2021-07-01",
                **ocr,
            },
            "doc_front": b64(JPEG) if images else None,
            "doc_back": b64(PNG) if images else None,
            "face_face": b64(JPEG[::-1] + JPEG) if images else None,
            "face_doc": b64(PNG + b"portrait") if images else None,
        },
    }


def fetch_tokens(mock: responses.RequestsMock, *tokens: str, url: str = FETCH_TOKEN) -> None:
    for token in tokens:
        mock.post(url, json={"token": token})


def calls_to(mock: responses.RequestsMock, url: str) -> list[Any]:
    return [call for call in mock.calls if call.request.url == url]
