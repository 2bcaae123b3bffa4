"""Evidence bytes served to staff: only what the bytes prove to be a picture or a video is shown
inline; everything else is a download.

The provider's declared MIME type is the provider's word (or an attacker's, when a file is
uploaded through the provider's SDK): a file declared `text/html` and served inline on the admin
origin would run as a page with the reviewer's session. So the served type is decided from the
stored file's first bytes, when it is served, whatever the row says; and every media response
forbids the browser's own sniffing and runs sandboxed (no script, no same-origin), whatever it is.
"""

from __future__ import annotations

import re

import filetype
from django.core.cache import cache
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
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


# --- byte ranges ---------------------------------------------------------------------------------
# A video player asks for `bytes=0-` first, then for the part it seeks to: without 206 answers a
# browser cannot seek in a long video. Django's FileResponse does not answer ranges, and the
# libraries that add it (django-ranged-response, django-ranged-fileresponse) have not been
# maintained since 2017, so the one range a player sends is parsed here (RFC 9110, 14.1.2).
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


class RangeNotSatisfiable(Exception):
    pass


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte, both included, of the range asked for; None to answer with the whole
    file (no Range, one we do not read, or several ranges: RFC 9110 lets a server ignore Range, and
    a player never asks for several). Raises RangeNotSatisfiable when it starts past the end."""
    match = _RANGE.match(header.strip()) if header else None
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # a suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None  # invalid: ignored, as RFC 9110 asks
    if start >= size:
        raise RangeNotSatisfiable
    return start, end


def _part(fh, start: int, end: int):
    """The bytes start..end of an open file, a chunk at a time (never the whole file in memory)."""
    try:
        fh.seek(start)
        left = end - start + 1
        while left > 0:
            chunk = fh.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        fh.close()


# How long one opening of a video lasts, for the audit: a player's range requests for the same
# file by the same person within it are one view, not one audit entry per seek.
VIEW_WINDOW_SECONDS = 600


def view_is_new(*, media: Media, viewer: str, ranged: bool) -> bool:
    """Whether this request opens the file (to be audited). A request without Range always does
    (a picture, a download); a Range request does unless the same viewer ("user:7", an API key's
    label) opened the same file in the last VIEW_WINDOW_SECONDS. A cache that forgot (restart,
    eviction) only adds an entry: bytes are never served without one recorded within the window."""
    key = f"kyc:media-viewed:{media.pk}:{viewer}"
    if not ranged:
        cache.set(key, 1, VIEW_WINDOW_SECONDS)
        return True
    return cache.add(key, 1, VIEW_WINDOW_SECONDS)


def media_file_response(media: Media, *, inline: bool, range_header: str = "") -> HttpResponse:
    """The stored file, streamed. `inline`: shown in the browser when the bytes prove a picture
    or a video; a download otherwise (PDFs always, anything unproven as an opaque octet stream).
    `range_header`: the request's Range; one range is answered with 206 (Content-Range), a range
    past the end with 416, anything else with the whole file."""
    fh = media.file.open("rb")
    head = fh.read(SNIFF_SIZE)
    fh.seek(0)  # FileResponse streams from here: only the first bytes were read twice
    served = proven_type(head)
    name = f"media-{media.pk}{EXTENSIONS.get(served, '')}"
    content_type = served if served in SHOWN_INLINE | DOWNLOADED else OPAQUE
    size = media.file.size
    try:
        part = byte_range(range_header, size)
    except RangeNotSatisfiable:
        fh.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        part = None
    else:
        if part is None:
            response = FileResponse(fh, content_type=content_type)
        else:
            start, end = part
            response = StreamingHttpResponse(_part(fh, start, end), status=206, content_type=content_type)
            response["Content-Length"] = str(end - start + 1)
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
        if served in SHOWN_INLINE and inline:
            response["Content-Disposition"] = "inline"
        else:
            response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = MEDIA_CSP
    return response
