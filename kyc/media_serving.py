"""Evidence bytes served to staff: only what the bytes prove to be a picture or a video is shown
inline; everything else is a download.

The provider's declared MIME type is the provider's word (or an attacker's, when a file is
uploaded through the provider's SDK): a file declared `text/html` and served inline on the admin
origin would run as a page with the reviewer's session. So the served type is decided from the
stored file's first bytes, when it is served, whatever the row says; and every media response
forbids the browser's own sniffing and runs sandboxed (no script, no same-origin), whatever it is.
"""

from __future__ import annotations

import filetype
from django.http import FileResponse
from filetype.types import archive, image, video

from kyc.models import Media

# The magic-number matchers of `filetype` (a small, dependency-free library) for the formats we
# serve, and only those: asking it about every format it knows would let a file it calls, say,
# image/svg+xml or text/html through. Its ISO-BMFF matchers read the whole `ftyp` box, so HEIC is
# not taken for an MP4 (both start with `ftyp`).
_MATCHERS = (
    image.Jpeg(),
    image.Png(),
    image.Webp(),
    image.Heic(),
    video.Mp4(),
    video.Webm(),
    archive.Pdf(),
)
# The first bytes the matchers need: WebM's doctype element sits after the EBML header.
SNIFF_SIZE = 4096

SHOWN_INLINE = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "video/mp4", "video/webm"})
# A PDF can carry scripts and forms that a browser's viewer runs: never displayed on our origin.
DOWNLOADED = frozenset({"application/pdf"})
EXTENSIONS = {m.mime: f".{m.extension}" for m in _MATCHERS}

OPAQUE = "application/octet-stream"
# No script, no plugins, no forms, and an opaque origin: even a file that slipped through as a
# page could not reach the admin's cookies or pages.
MEDIA_CSP = "sandbox"


def proven_type(head: bytes) -> str:
    """The MIME type the first bytes of a file prove, among those we serve; "" when none."""
    kind = filetype.match(bytes(head[:SNIFF_SIZE]), matchers=_MATCHERS)
    return kind.mime if kind else ""


def media_file_response(media: Media, *, inline: bool) -> FileResponse:
    """The stored file, streamed. `inline`: shown in the browser when the bytes prove a picture
    or a video; a download otherwise (PDFs always, anything unproven as an opaque octet stream)."""
    fh = media.file.open("rb")
    head = fh.read(SNIFF_SIZE)
    fh.seek(0)  # FileResponse streams from here: only the first bytes were read twice
    served = proven_type(head)
    name = f"media-{media.pk}{EXTENSIONS.get(served, '')}"
    if served in SHOWN_INLINE and inline:
        response = FileResponse(fh, content_type=served)
        response["Content-Disposition"] = "inline"
    elif served in SHOWN_INLINE | DOWNLOADED:
        response = FileResponse(fh, content_type=served, as_attachment=True, filename=name)
    else:
        response = FileResponse(fh, content_type=OPAQUE, as_attachment=True, filename=name)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = MEDIA_CSP
    return response
