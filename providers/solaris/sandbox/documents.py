"""Fake evidence of an identification: ID document photos and a selfie drawn with Pillow, and the
identification report as a one-page PDF. Everything says "SANDBOX" and shows the person's name, so
a reviewer sees at once that the files belong to the case and are not real."""

import io
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

WATERMARK = "SANDBOX - NOT A REAL DOCUMENT"


@dataclass(frozen=True)
class GeneratedDocument:
    document_type: str
    name: str
    content_type: str
    content: bytes


def identification_documents(identification_id: str, person: Mapping[str, Any]) -> list[GeneratedDocument]:
    """The files IDnow leaves on a finished identification: the ID's two sides, a selfie, the report."""
    return [
        GeneratedDocument(
            "ID_DOCUMENT", f"{identification_id}_id_front.jpg", "image/jpeg", _card(person, "FRONT")
        ),
        GeneratedDocument(
            "ID_DOCUMENT", f"{identification_id}_id_back.jpg", "image/jpeg", _card(person, "BACK")
        ),
        GeneratedDocument("FACE", f"{identification_id}_selfie.png", "image/png", _selfie(person)),
        GeneratedDocument(
            "KYC_REPORT",
            f"{identification_id}_report.pdf",
            "application/pdf",
            _report(identification_id, person),
        ),
    ]


def _name(person: Mapping[str, Any]) -> str:
    return f"{_ascii(person.get('first_name'))} {_ascii(person.get('last_name'))}".strip() or "-"


def _card(person: Mapping[str, Any], side: str) -> bytes:
    image = Image.new("RGB", (480, 300), "#1f5fa8")
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((10, 10, 470, 290), radius=16, fill="#f4f1e8")
    draw.text(
        (24, 20), f"ID CARD ({side})  {_ascii(person.get('nationality'))}", font=_font(20), fill="#1b1b1b"
    )
    rows = [("NAME", _name(person)), ("DATE OF BIRTH", _ascii(person.get("birth_date")) or "-")]
    for index, (label, value) in enumerate(rows):
        draw.text((24, 70 + index * 44), label, font=_font(11), fill="#6b6b6b")
        draw.text((24, 84 + index * 44), value.upper(), font=_font(18), fill="#1b1b1b")
    draw.rectangle((10, 240, 470, 272), fill="#b3261e")
    draw.text((240, 256), WATERMARK, font=_font(18), fill="white", anchor="mm")
    return _encode(image, "JPEG")


def _selfie(person: Mapping[str, Any]) -> bytes:
    image = Image.new("RGB", (240, 300), "#dfe8f1")
    draw = ImageDraw.Draw(image)
    # A cartoon head and shoulders, plainly not a photograph of anyone.
    draw.ellipse((40, 200, 200, 360), fill="#4a6fa5")
    draw.ellipse((75, 50, 165, 160), fill="#f2c9a0")
    draw.text((120, 250), _name(person), font=_font(14), fill="white", anchor="mm")
    draw.rectangle((0, 270, 240, 300), fill="#b3261e")
    draw.text((120, 285), "SANDBOX - NOT A REAL PERSON", font=_font(12), fill="white", anchor="mm")
    return _encode(image, "PNG")


def _report(identification_id: str, person: Mapping[str, Any]) -> bytes:
    image = Image.new("RGB", (595, 842), "white")
    draw = ImageDraw.Draw(image)
    lines = [
        "IDENTIFICATION REPORT (SANDBOX)",
        "",
        f"Identification: {identification_id}",
        f"Person: {_name(person)}",
    ]
    for index, line in enumerate(lines):
        draw.text((48, 60 + index * 28), line, font=_font(18), fill="#1b1b1b")
    draw.text((48, 780), WATERMARK, font=_font(18), fill="#b3261e")
    return _encode(image, "PDF")


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's bundled font: no dependency on the machine's fonts. ASCII only, hence _ascii().
    return ImageFont.load_default(size=size)


def _ascii(value: Any) -> str:
    text = "" if value is None else str(value)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _encode(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **({"quality": 85} if image_format == "JPEG" else {}))
    return buffer.getvalue()
