"""Fake evidence for an onboarding: both sides of a document and two faces, drawn with Pillow.

Everything is plainly fake ("SANDBOX - NOT A REAL DOCUMENT", a cartoon face) and shows what the
result's OCR says, so a reviewer can compare the photo with the data. Small on purpose (a few
kilobytes each): they travel base64 in JSON, in the fetch and in the callback. Written here rather
than shared with another provider's sandbox: providers never import each other.
"""

import io
import unicodedata
from functools import cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

WATERMARK = "SANDBOX - NOT A REAL DOCUMENT"
CARD_SIZE = (400, 250)
FACE_SIZE = (200, 250)
CARD_COLOUR = "#1f5fa8"


def capture_images(applicant_id: str, document: dict[str, Any]) -> list[tuple[str, str, bytes]]:
    """(kind, content type, bytes) of doc_front (JPEG), doc_back (JPEG), face_face (the live face,
    PNG) and face_doc (the document's portrait, JPEG)."""
    ocr = document.get("ocr", {})
    doc_type = str(document.get("type", {}).get("doc_type", "id_card"))
    country = str(document.get("type", {}).get("country_code", ""))
    return [
        ("doc_front", "image/jpeg", _jpeg(_front(ocr, doc_type, country))),
        ("doc_back", "image/jpeg", _jpeg(_back(applicant_id, ocr, country))),
        ("face_face", "image/png", _png(_face(ocr, live=True))),
        ("face_doc", "image/jpeg", _jpeg(_face(ocr, live=False))),
    ]


def _front(ocr: dict[str, Any], doc_type: str, country: str) -> Image.Image:
    image = Image.new("RGB", CARD_SIZE, CARD_COLOUR)
    draw = ImageDraw.Draw(image)
    width, height = CARD_SIZE
    draw.rounded_rectangle((8, 8, width - 8, height - 8), radius=14, fill="#f4f1e8")
    draw.rectangle((8, 8, width - 8, 46), fill=CARD_COLOUR)
    draw.text(
        (20, 16), f"{doc_type.replace('_', ' ').upper()}  {country.upper()}", font=_font(18), fill="white"
    )
    _portrait(image, (22, 60, 122, 185))
    fields = [
        ("SURNAME", ocr.get("surname")),
        ("GIVEN NAMES", ocr.get("name")),
        ("DATE OF BIRTH", ocr.get("birth_date")),
        ("DOCUMENT NO", ocr.get("doc_num")),
        ("EXPIRES", ocr.get("expiration_date")),
    ]
    for row, (label, value) in enumerate(fields):
        top = 58 + row * 25
        draw.text((140, top), label, font=_font(9), fill="#6b6b6b")
        draw.text((140, top + 10), _ascii(value).upper() or "-", font=_font(13), fill="#1b1b1b")
    _watermark(draw, height)
    return image


def _back(applicant_id: str, ocr: dict[str, Any], country: str) -> Image.Image:
    image = Image.new("RGB", CARD_SIZE, CARD_COLOUR)
    draw = ImageDraw.Draw(image)
    width, height = CARD_SIZE
    draw.rounded_rectangle((8, 8, width - 8, height - 8), radius=14, fill="#eceae2")
    # Bars that follow the applicant id: the same onboarding draws the same back.
    x = 24
    for index, char in enumerate(applicant_id * 4):
        bar = 1 + (ord(char) + index) % 4
        if x + bar > width - 24:
            break
        draw.rectangle((x, 30, x + bar, 100), fill="#1b1b1b")
        x += bar + 2
    # A machine-readable-zone look-alike (not a valid MRZ, on purpose).
    surname = _ascii(ocr.get("surname")).upper().replace(" ", "<")
    given = _ascii(ocr.get("name")).upper().replace(" ", "<")
    number = _ascii(ocr.get("doc_num")).upper()
    lines = [f"IDSBX{country.upper()}<{surname}<<{given}", f"{number}<<SANDBOX<<NOT<A<REAL<DOCUMENT"]
    for row, line in enumerate(lines):
        draw.text((24, 120 + row * 24), (line + "<" * 36)[:36], font=_font(13), fill="#1b1b1b")
    _watermark(draw, height)
    return image


def _face(ocr: dict[str, Any], *, live: bool) -> Image.Image:
    image = Image.new("RGB", FACE_SIZE, "#dfe8f1" if live else "#e9e4d8")
    draw = ImageDraw.Draw(image)
    width, height = FACE_SIZE
    _portrait(image, (25, 15, width - 25, 195))
    name = f"{_ascii(ocr.get('name'))} {_ascii(ocr.get('surname'))}".strip()
    draw.text((width // 2, 210), name or "-", font=_font(12), fill="#1b1b1b", anchor="mm")
    draw.rectangle((0, height - 26, width, height), fill="#b3261e")
    footer = "SANDBOX - LIVE FACE" if live else "SANDBOX - DOCUMENT PORTRAIT"
    draw.text((width // 2, height - 13), footer, font=_font(11), fill="white", anchor="mm")
    return image


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's bundled font: no dependency on the machine's fonts. ASCII only, hence _ascii().
    return ImageFont.load_default(size=size)


def _ascii(value: Any) -> str:
    text = "" if value is None else str(value)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _portrait(image: Image.Image, box: tuple[int, int, int, int]) -> None:
    """A cartoon head and shoulders, plainly not a photograph of anyone."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    portrait = Image.new("RGB", (width, height), "#c9d3dc")
    draw = ImageDraw.Draw(portrait)
    centre, head = width // 2, width // 3
    head_top = height // 8
    draw.ellipse((centre - 2 * head, height - head, centre + 2 * head, height + 2 * head), fill="#4a6fa5")
    draw.ellipse((centre - head, head_top, centre + head, head_top + 2 * head + head // 3), fill="#f2c9a0")
    eye_y = head_top + head - head // 6
    for dx in (-head // 2, head // 2):
        draw.ellipse((centre + dx - 3, eye_y - 3, centre + dx + 3, eye_y + 3), fill="#2b2b2b")
    mouth_y = head_top + head + head // 2
    draw.arc(
        (centre - head // 2, mouth_y - head // 4, centre + head // 2, mouth_y + head // 4),
        20,
        160,
        fill="#8a3b2e",
        width=3,
    )
    image.paste(portrait, (left, top))


def _watermark(draw: ImageDraw.ImageDraw, height: int) -> None:
    draw.rectangle((8, height - 44, CARD_SIZE[0] - 8, height - 16), fill="#b3261e")
    draw.text((CARD_SIZE[0] // 2, height - 30), WATERMARK, font=_font(15), fill="white", anchor="mm")


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
