"""Fake evidence for an attempt: document photos and a selfie drawn with Pillow, and a short video.

Everything is obviously fake ("SANDBOX - NOT A REAL DOCUMENT", a cartoon face) and shows the
person and document the decision reports, so a reviewer can see the two match. The video is a
committed synthetic test pattern (no people), made once with:

    ffmpeg -f lavfi -i "testsrc=size=160x120:rate=12:duration=2" \
        -vf "drawtext=text='SANDBOX':x=40:y=50:fontcolor=white:box=1:boxcolor=black" \
        -c:v libx264 -profile:v baseline -pix_fmt yuv420p -movflags +faststart \
        -map_metadata -1 assets/sample.mp4
"""

import io
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

WATERMARK = "SANDBOX - NOT A REAL DOCUMENT"
CARD_SIZE = (480, 300)
FACE_SIZE = (240, 300)
CARD_COLOURS = {
    "PASSPORT": "#7b1e3a",
    "ID_CARD": "#1f5fa8",
    "DRIVERS_LICENSE": "#c2557a",
    "RESIDENCE_PERMIT": "#2f7d4f",
}
VIDEO_PATH = Path(__file__).parent / "assets" / "sample.mp4"
VIDEO_DURATION_SECONDS = 2

# The contexts one submitted attempt has, in the order they are made.
ATTEMPT_CONTEXTS = ("document-front", "document-back", "face", "video")


@dataclass(frozen=True)
class GeneratedMedia:
    context: str
    mimetype: str
    content: bytes
    duration: int | None = None


def generate_attempt_media(
    person: Mapping[str, Any], document: Mapping[str, Any], contexts: Iterable[str] = ATTEMPT_CONTEXTS
) -> list[GeneratedMedia]:
    return [_generate(context, person, document) for context in contexts]


def _generate(context: str, person: Mapping[str, Any], document: Mapping[str, Any]) -> GeneratedMedia:
    if context == "document-front":
        return GeneratedMedia(context, "image/jpeg", document_front(person, document))
    if context == "document-back":
        return GeneratedMedia(context, "image/jpeg", document_back(person, document))
    if context == "face":
        return GeneratedMedia(context, "image/png", face_photo(person))
    if context == "video":
        return GeneratedMedia(context, "video/mp4", sample_video(), VIDEO_DURATION_SECONDS)
    raise ValueError(f"no generator for media context {context!r}")


def document_front(person: Mapping[str, Any], document: Mapping[str, Any]) -> bytes:
    doc_type = str(document.get("type") or "PASSPORT")
    image = Image.new("RGB", CARD_SIZE, CARD_COLOURS.get(doc_type, "#555555"))
    draw = ImageDraw.Draw(image)
    width, height = CARD_SIZE
    draw.rounded_rectangle((10, 10, width - 10, height - 10), radius=16, fill="#f4f1e8")
    draw.rectangle((10, 10, width - 10, 56), fill=CARD_COLOURS.get(doc_type, "#555555"))
    heading = f"{doc_type.replace('_', ' ')}  {_ascii(document.get('country'))}"
    draw.text((24, 20), heading, font=_font(22), fill="white")

    _paste_portrait(image, (28, 72, 148, 222))
    fields = [
        ("SURNAME", person.get("lastName")),
        ("GIVEN NAMES", person.get("firstName")),
        ("DATE OF BIRTH", person.get("dateOfBirth")),
        ("DOCUMENT NO", document.get("number")),
        ("VALID UNTIL", document.get("validUntil")),
    ]
    for row, (label, value) in enumerate(fields):
        top = 70 + row * 30
        draw.text((168, top), label, font=_font(10), fill="#6b6b6b")
        draw.text((168, top + 11), _ascii(value).upper() or "-", font=_font(15), fill="#1b1b1b")

    _draw_watermark(draw, height)
    return _encode(image, "JPEG")


def document_back(person: Mapping[str, Any], document: Mapping[str, Any]) -> bytes:
    doc_type = str(document.get("type") or "PASSPORT")
    image = Image.new("RGB", CARD_SIZE, CARD_COLOURS.get(doc_type, "#555555"))
    draw = ImageDraw.Draw(image)
    width, height = CARD_SIZE
    draw.rounded_rectangle((10, 10, width - 10, height - 10), radius=16, fill="#eceae2")

    # A barcode whose bars follow the document number: the same session gives the same back.
    number = _ascii(document.get("number")) or "0"
    x = 30
    for index, char in enumerate(number * 6):
        bar = 1 + (ord(char) + index) % 4
        if x + bar > width - 30:
            break
        draw.rectangle((x, 40, x + bar, 120), fill="#1b1b1b")
        x += bar + 2

    # Machine-readable-zone look-alike lines (not a valid MRZ, on purpose).
    surname = _ascii(person.get("lastName")).upper().replace(" ", "<")
    given = _ascii(person.get("firstName")).upper().replace(" ", "<")
    country = _ascii(document.get("country")).upper()
    lines = [f"IDSBX{country}<{surname}<<{given}", f"{number}<<SANDBOX<<NOT<A<REAL<DOCUMENT"]
    for row, line in enumerate(lines):
        draw.text((30, 150 + row * 28), (line + "<" * 40)[:40], font=_font(14), fill="#1b1b1b")

    _draw_watermark(draw, height)
    return _encode(image, "JPEG")


def face_photo(person: Mapping[str, Any]) -> bytes:
    image = Image.new("RGB", FACE_SIZE, "#dfe8f1")
    draw = ImageDraw.Draw(image)
    width, height = FACE_SIZE
    _paste_portrait(image, (30, 20, width - 30, 230))
    name = f"{_ascii(person.get('firstName'))} {_ascii(person.get('lastName'))}".strip()
    draw.text((width // 2, 252), name or "-", font=_font(14), fill="#1b1b1b", anchor="mm")
    draw.rectangle((0, height - 30, width, height), fill="#b3261e")
    footer = "SANDBOX - NOT A REAL PERSON"
    draw.text((width // 2, height - 15), footer, font=_font(12), fill="white", anchor="mm")
    return _encode(image, "PNG")


@cache
def sample_video() -> bytes:
    return VIDEO_PATH.read_bytes()


# --- drawing helpers ----------------------------------------------------------------------------


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's bundled font: no dependency on the machine's fonts. It covers ASCII only, hence
    # _ascii() on every text drawn.
    return ImageFont.load_default(size=size)


def _ascii(value: Any) -> str:
    text = "" if value is None else str(value)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _paste_portrait(image: Image.Image, box: tuple[int, int, int, int]) -> None:
    """A cartoon head and shoulders, plainly not a photograph of anyone, clipped to `box`."""
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
        draw.ellipse((centre + dx - 4, eye_y - 4, centre + dx + 4, eye_y + 4), fill="#2b2b2b")
    mouth_y = head_top + head + head // 2
    mouth = (centre - head // 2, mouth_y - head // 4, centre + head // 2, mouth_y + head // 4)
    draw.arc(mouth, 20, 160, fill="#8a3b2e", width=3)
    image.paste(portrait, (left, top))


def _draw_watermark(draw: ImageDraw.ImageDraw, height: int) -> None:
    draw.rectangle((10, height - 52, CARD_SIZE[0] - 10, height - 20), fill="#b3261e")
    draw.text((CARD_SIZE[0] // 2, height - 36), WATERMARK, font=_font(18), fill="white", anchor="mm")


def _encode(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **({"quality": 85} if image_format == "JPEG" else {}))
    return buffer.getvalue()
