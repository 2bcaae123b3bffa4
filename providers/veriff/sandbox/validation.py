"""Request validation for the provider API, with Veriff's error codes (README, "Endpoints", "The sandbox").

Each parser takes the raw body and returns clean values or raises ApiError. Unknown fields are
ignored, as Veriff ignores fields it does not use (`address`, `consents`, …).
"""

import base64
import binascii
import datetime as dt
import io
import ipaddress
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from .errors import fail
from .models import Status

# Today's limit; the seed said 40 (README, "Endpoints" and "Open questions").
VENDOR_DATA_MAX_LENGTH = 1000
# A request timestamp older than this is refused (1201). It is the client's real clock, not a
# simulated delay, so SIM_TIME_SCALE deliberately does not apply.
TIMESTAMP_MAX_AGE = dt.timedelta(hours=1)

DOCUMENT_TYPES = frozenset({"PASSPORT", "ID_CARD", "DRIVERS_LICENSE", "RESIDENCE_PERMIT"})
FEATURES = frozenset({"selfid"})
IMAGE_CONTEXTS = frozenset(
    {"face", "document-front", "document-back", "face-pre", "document-front-pre", "document-back-pre"}
)
IMAGE_MIMETYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}

# ISO 3166-1 alpha-2, plus XK (Kosovo, which issues documents without an ISO code).
COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK
    """.split()  # noqa: SIM905 - a table of 250 codes reads better as a block
)

DOCUMENT_NUMBER = re.compile(r"^[A-Z0-9]+$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
DATA_URL_PREFIX = re.compile(r"^data:image/[a-z+.-]+;base64,", re.IGNORECASE)


@dataclass(frozen=True)
class SessionInput:
    """A valid POST /v1/sessions request."""

    callback: str = ""
    person: dict[str, Any] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict)
    additional_data: dict[str, Any] = field(default_factory=dict)
    vendor_data: str | None = None
    end_user_id: str | None = None
    lang: str = "en"


@dataclass(frozen=True)
class MediaInput:
    """A valid POST /v1/sessions/{id}/media request."""

    context: str
    content: bytes
    mimetype: str


def parse_session_request(body: bytes) -> SessionInput:
    verification = _verification_object(body)
    _check_timestamp(verification.get("timestamp"))

    vendor_data = verification.get("vendorData")
    if vendor_data is not None:
        if not isinstance(vendor_data, str):
            raise fail("1501")
        if len(vendor_data) > VENDOR_DATA_MAX_LENGTH:
            raise fail("1500")

    callback = verification.get("callback") or ""
    if callback:
        _check_callback(callback)

    person = _optional_object(verification, "person")
    for key in ("firstName", "lastName", "idNumber", "gender", "dateOfBirth"):
        if person.get(key) is not None and not isinstance(person[key], str):
            raise fail("1104")
    if person.get("dateOfBirth"):
        _check_date_of_birth(person["dateOfBirth"])

    document = _optional_object(verification, "document")
    _check_document(document)

    additional_data = _optional_object(verification, "additionalData")
    # "should not have any nested objects, just simple key value pairs" (the seed).
    if any(isinstance(value, dict | list) for value in additional_data.values()):
        raise fail("1104")

    features = verification.get("features", [])
    if not isinstance(features, list):
        raise fail("1104")
    if not set(features) <= FEATURES:
        raise fail("1301")

    end_user_id = verification.get("endUserId")
    if end_user_id is not None:
        _check_uuid(end_user_id)

    lang = verification.get("lang") or "en"
    if not isinstance(lang, str):
        raise fail("1104")

    return SessionInput(
        callback=callback,
        person=person,
        document=document,
        additional_data=additional_data,
        vendor_data=vendor_data,
        end_user_id=end_user_id,
        lang=lang,
    )


def parse_status_update(body: bytes) -> str:
    """PATCH /v1/sessions/{id}: the requested status. Only `submitted` may be asked for."""
    verification = _verification_object(body)
    status = verification.get("status")
    if status is None:
        raise fail("1102")
    if status not in Status.values:
        raise fail("1303")
    _check_timestamp(verification.get("timestamp"))
    if status != Status.SUBMITTED:
        raise fail("1304", status=status)
    return status


def parse_media_upload(body: bytes) -> MediaInput:
    data = _json_object(body)
    image = data.get("image")
    if not isinstance(image, dict):
        raise fail("1403")
    context = image.get("context")
    if context is None:
        raise fail("1102")
    if context not in IMAGE_CONTEXTS:
        raise fail("1402")
    content = image.get("content")
    if not content:
        raise fail("1400")
    if not isinstance(content, str):
        raise fail("1401")
    _check_timestamp(image.get("timestamp"))
    raw = _decode_base64(content)
    return MediaInput(context=context, content=raw, mimetype=_image_mimetype(raw))


# --- helpers ------------------------------------------------------------------------------------


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; RecursionError: nesting
        raise fail("1104") from None
    if not isinstance(data, dict):
        raise fail("1104")
    return data


def _verification_object(body: bytes) -> dict[str, Any]:
    data = _json_object(body) if body.strip() else {}
    if "verification" not in data:
        raise fail("1102")
    verification = data["verification"]
    if not isinstance(verification, dict):
        raise fail("1104")
    return verification


def _optional_object(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail("1104")
    return value


def _check_timestamp(value: Any) -> None:
    """Optional today; when given it must be ISO-8601 (1202) and not older than 1 h (1201)."""
    if value is None:
        return
    if not isinstance(value, str) or not ISO_DATETIME.match(value):
        raise fail("1202")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise fail("1202") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if timezone.now() - moment > TIMESTAMP_MAX_AGE:
        raise fail("1201")


def _check_callback(value: Any) -> None:
    """HTTPS only (1302), except plain HTTP to this machine or to KYC_PUBLIC_URL's host: the app
    runs on http://127.0.0.1 in development and there is no certificate to present."""
    if not isinstance(value, str):
        raise fail("1104")
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return
    own_hosts = {urlsplit(settings.KYC_PUBLIC_URL).hostname}
    if (
        parts.scheme == "http"
        and parts.hostname
        and (_is_loopback(parts.hostname) or parts.hostname in own_hosts)
    ):
        return
    raise fail("1302")


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_date_of_birth(value: str) -> None:
    if not ISO_DATE.match(value):
        raise fail("2003")
    try:
        born = dt.date.fromisoformat(value)
    except ValueError:
        raise fail("2003") from None
    if born > timezone.now().date():
        raise fail("2003")


def _check_document(document: dict[str, Any]) -> None:
    number = document.get("number")
    if number is not None and (not isinstance(number, str) or not DOCUMENT_NUMBER.match(number)):
        raise fail("2102")
    doc_type = document.get("type")
    if doc_type is not None and doc_type not in DOCUMENT_TYPES:
        raise fail("2103")
    country = document.get("country")
    if country is not None and country not in COUNTRIES:
        raise fail("2104")


def _check_uuid(value: Any) -> None:
    if not isinstance(value, str):
        raise fail("1104")
    try:
        uuid.UUID(value)
    except ValueError:
        raise fail("1104") from None


def _decode_base64(content: str) -> bytes:
    """Plain base64 or a `data:image/…;base64,` URL (README, "Endpoints", both accepted)."""
    text = "".join(DATA_URL_PREFIX.sub("", content.strip()).split())
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise fail("1401") from None


def _image_mimetype(raw: bytes) -> str:
    # Valid base64 that is not a PNG/JPEG gets the same 1401: Veriff documents no other code for
    # it, and "base64 encoded image (png|jpg|jpeg)" is what the field is.
    try:
        with Image.open(io.BytesIO(raw)) as image:
            image_format = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise fail("1401") from None
    if image_format not in IMAGE_MIMETYPES:
        raise fail("1401")
    return IMAGE_MIMETYPES[image_format]
