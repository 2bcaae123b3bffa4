"""A large generated video, for load and streaming tests: N bytes made on the fly, never held whole.

The bytes are a pure function of N: an MP4 `ftyp` box (so the file is recognised as MP4 by its
first bytes, as a provider's video is) and one `mdat` box, with a 64-bit size, filled with
pseudo-random blocks, each stamped with its number so that no two blocks are alike. Nothing plays
it; it is there to be moved, hashed and stored. Generating it costs one memory copy per block (the
stamp put before the pattern), so the sandbox serves it at least as fast as any client can store it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from functools import cache

from providers.veriff import signing

# ftyp: size 24, brand isom, minor version 0x200, compatible brands isom iso2.
FTYP = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
MDAT_HEADER_SIZE = 16  # size 1 (= 64-bit size follows), "mdat", 64-bit size
HEADER_SIZE = len(FTYP) + MDAT_HEADER_SIZE
MIN_SIZE = HEADER_SIZE
MAX_SIZE = 16 * 1024**3
BLOCK_SIZE = 1024 * 1024
# Served a block at a time, as `bytes`: Django's StreamingHttpResponse copies anything else
# (a memoryview, a slice) into new bytes, and every copy is CPU the client being measured by
# benchmarks/media_streaming.py does not get on a 2-core machine.
CHUNK_SIZE = BLOCK_SIZE
STAMP_SIZE = 8


@cache
def _block_pattern() -> bytes:
    return hashlib.shake_256(b"KYC Desk sandbox video").digest(BLOCK_SIZE)


@cache
def _block_tail() -> bytes:
    return _block_pattern()[STAMP_SIZE:]


def header(size: int) -> bytes:
    return FTYP + (1).to_bytes(4, "big") + b"mdat" + (size - len(FTYP)).to_bytes(8, "big")


def chunks(size: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The video's bytes in chunks of at most `chunk_size` (at most one block is held at a time)."""
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be between {MIN_SIZE} and {MAX_SIZE} bytes")
    yield header(size)
    remaining = size - HEADER_SIZE
    tail = _block_tail()
    number = 0
    while remaining > 0:
        block = number.to_bytes(STAMP_SIZE, "big") + tail
        if remaining < BLOCK_SIZE:
            block = block[:remaining]
        if chunk_size >= len(block):
            yield block
        else:
            for start in range(0, len(block), chunk_size):
                yield block[start : start + chunk_size]
        remaining -= len(block)
        number += 1


def digests(size: int, api_key: str, secret: str, scheme: str) -> tuple[str, dict[str, str]]:
    """One pass over the bytes: their SHA-256, and the response signature headers over them."""
    sha = hashlib.sha256()
    if scheme == signing.HMAC:
        mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)
        for chunk in chunks(size, BLOCK_SIZE):
            sha.update(chunk)
            mac.update(chunk)
        signature = mac.hexdigest()
    else:
        # Legacy: sha256(payload ‖ secret), a plain hash of the concatenation.
        legacy = hashlib.sha256()
        for chunk in chunks(size, BLOCK_SIZE):
            sha.update(chunk)
            legacy.update(chunk)
        legacy.update(secret.encode())
        signature = legacy.hexdigest()
    return sha.hexdigest(), {"X-AUTH-CLIENT": api_key, signing.HEADER[scheme]: signature}
