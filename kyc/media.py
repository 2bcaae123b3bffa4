"""Evidence download: a provider's photo or video streamed to private storage.

Never half a file recorded as done: the bytes go to a temporary file first (hashed and counted on
the way, never held whole in memory), and only a complete file is moved to its final name and the
row marked stored, under the row's lock. A retry after a crash overwrites whatever a killed run
left at the final name, so a file is never stored twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import queue
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from kyc.audit import audit_append, audit_event
from kyc.media_serving import EXTENSIONS, SNIFF_SIZE, proven_type
from kyc.models import Media
from kyc.selectors import session_person_id
from providers.base import MEDIA_ARCHIVE, MEDIA_INLINE, MediaItem, MediaStream, ProviderError
from providers.registry import get_provider

logger = logging.getLogger(__name__)


def sniff(head: bytes, announced: str = "") -> tuple[str, str]:
    """The MIME type and file extension the first bytes show (the provider's word as fallback,
    with no extension: a file named .html would be one more way to have it rendered)."""
    proven = proven_type(head)
    if proven:
        return proven, EXTENSIONS[proven]
    return announced or "application/octet-stream", ""


TEMP_PREFIX, TEMP_SUFFIX = "dl-", ".part"


def _temp_dir() -> str:
    path = os.path.join(settings.MEDIA_ROOT, "tmp")
    os.makedirs(path, exist_ok=True)
    return path


def media_download(*, media_id: int) -> Media:
    """Download one media file. Raises ProviderError on a transient failure (the task retries)."""
    media = Media.objects.select_related("session", "attempt").get(pk=media_id)
    if not _wanted(media):
        return media  # done, waiting for a human, or past its retention
    with media_fetch(media) as fetched:
        return media_store([fetched])[0]


def _wanted(media: Media) -> bool:
    return media.state != Media.State.STORED and not media.parked_at and not media.purged_at


@dataclass
class Fetched:
    """A file received whole into a temporary file, not yet stored (media_store)."""

    media_id: int
    tmp: File
    sha256: str
    size: int
    mime: str
    ext: str
    proven: str = ""  # what the bytes prove (kyc/media_serving.py), "" when nothing we serve


def media_count_attempts(rows: list[Media]) -> None:
    """A download of each of these rows starts now (one UPDATE for all: media_fetch(counted=True))."""
    Media.objects.filter(pk__in=[row.pk for row in rows]).update(
        download_attempts=F("download_attempts") + 1, last_attempt_at=timezone.now(), next_attempt_at=None
    )


@contextlib.contextmanager
def media_fetch(media: Media, *, counted: bool = False) -> Iterator[Fetched]:
    """Stream one file from the provider into a temporary file, hashed and counted on the way;
    the temporary file is removed when the block ends unless media_store moved it into place.
    Raises ProviderError (recorded on the row) when the provider fails. `counted`: the attempt
    was counted already, with others (media_count_attempts)."""
    provider = get_provider(media.session.provider)
    item = MediaItem(
        provider_media_id=media.provider_media_id,
        context=media.context,
        name=media.name,
        mime_type=media.mime_type,
        kind=media.kind,
        attempt_id=media.attempt.provider_attempt_id if media.attempt else "",
    )
    person_id = session_person_id(customer_id=media.session.customer_id, provider=media.session.provider)
    if not counted:
        media_count_attempts([media])
    # The temporary file lives beside the final storage so that storing it is a rename, not a
    # copy, and is removed whatever happens (a broken stream leaves nothing behind; one left by a
    # killed worker is swept by reconciliation, kyc/operations/reconcile.py).
    with _DownloadFile() as tmp:
        try:
            with provider.open_media(item, provider_person_id=person_id) as stream:
                sha256, size, head = _receive(stream, tmp)
        except ProviderError as exc:
            _record_failure(media.pk, exc)
            raise
        tmp.flush()
        tmp.seek(0)
        mime, ext = sniff(head, media.mime_type)
        yield Fetched(media.pk, tmp, sha256=sha256, size=size, mime=mime, ext=ext, proven=proven_type(head))


def media_store_delivered(*, session_id: int, items: list[MediaItem], pending: list[Media]) -> list[Media]:
    """Store the pending files whose bytes came otherwise than one download each: inline in the
    listing (ShareID's base64 images, MediaItem.content) or in the session's archive (Signicat's
    ZIP, Provider.open_media_archive). Each goes the same way as a download: into a temporary
    file, hashed, its type proven from its bytes, then stored with the others in one transaction
    (media_store), or not at all. Returns the pending rows left to download one by one. Raises
    ProviderError (recorded on the rows) when the archive cannot be had or read."""
    by_id = {item.provider_media_id: item for item in items}
    inline = [row for row in pending if _source(by_id, row) == MEDIA_INLINE]
    archived = [row for row in pending if _source(by_id, row) == MEDIA_ARCHIVE]
    rest = [row for row in pending if row not in inline and row not in archived]
    if inline:
        media_count_attempts(inline)
        with contextlib.ExitStack() as files:
            fetched = [
                _fetch_from(row, io.BytesIO(by_id[row.provider_media_id].content), files) for row in inline
            ]
            media_store(fetched)
    if archived:
        _store_archived(session_id, archived)
    return rest


def _source(by_id: dict[str, MediaItem], row: Media) -> str:
    item = by_id.get(row.provider_media_id)
    return item.source if item is not None else ""


def _fetch_from(media: Media, stream: MediaStream, files: contextlib.ExitStack) -> Fetched:
    """One file's bytes from `stream` into a temporary file that `files` removes unless
    media_store moved it into place."""
    tmp = files.enter_context(_DownloadFile())
    sha256, size, head = _receive(stream, tmp)
    tmp.flush()
    tmp.seek(0)
    mime, ext = sniff(head, media.mime_type)
    return Fetched(media.pk, tmp, sha256=sha256, size=size, mime=mime, ext=ext, proven=proven_type(head))


def _store_archived(session_id: int, rows: list[Media]) -> None:
    """The session's archive, streamed to a temporary file (never whole in memory), then each
    wanted member streamed out of it as a file of its own. A member the archive lacks is a
    permanent failure of that file alone."""
    session = rows[0].session
    provider = get_provider(session.provider)
    media_count_attempts(rows)
    with contextlib.ExitStack() as files:
        archive = files.enter_context(_DownloadFile())
        try:
            with provider.open_media_archive(session.provider_session_id) as stream:
                _receive(stream, archive)
            archive.flush()
            archive.seek(0)
            bundle = files.enter_context(zipfile.ZipFile(archive.file))
        except (ProviderError, zipfile.BadZipFile) as exc:
            error = (
                exc if isinstance(exc, ProviderError) else ProviderError(f"media archive unreadable: {exc}")
            )
            for row in rows:
                _record_failure(row.pk, error)
            raise error from None
        members = set(bundle.namelist())
        fetched = []
        for row in rows:
            if row.provider_media_id not in members:
                _record_failure(row.pk, ProviderError("not in the media archive", permanent=True))
                continue
            with bundle.open(row.provider_media_id) as member:
                fetched.append(_fetch_from(row, member, files))
        media_store(fetched)


# Bytes are received into a few buffers of this size, reused, so that memory stays flat whatever
# the file's size.
BUFFER_SIZE = 1024 * 1024
BUFFERS = 4


def _receive(stream: MediaStream, out) -> tuple[str, int, bytes]:
    """Copy `stream` into `out`; its SHA-256, size and first bytes.

    SHA-256 can be slower than a local network and a disk together, so it is computed in a second
    thread while this one receives and writes the next
    buffer (hashlib, socket reads and file writes all release the GIL on large buffers). A buffer
    goes back to the receiver once hashed; at most BUFFERS exist. A file that fits in one buffer
    (photos) is hashed here, without a thread. Whatever stops the receiving (a broken stream, a
    task's time limit), the hashing thread is told to end and is waited for before this returns.
    """
    digest = hashlib.sha256()
    free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()  # hashed, to fill again
    filled: queue.SimpleQueue[memoryview | None] = queue.SimpleQueue()  # written, to hash
    failure: list[BaseException] = []

    def hash_buffers() -> None:
        while (view := filled.get()) is not None:
            if not failure:
                try:
                    digest.update(view)
                except BaseException as exc:  # handed to the receiving thread, which raises it
                    failure.append(exc)
            free.put(view.obj)  # even after a failure: the receiver must never wait forever

    size, head, made, hasher = 0, b"", 0, None
    try:
        while not failure:
            if made < BUFFERS and free.empty():
                buffer, made = bytearray(BUFFER_SIZE), made + 1
            else:
                buffer = free.get()
            count = stream.readinto(buffer)
            view = memoryview(buffer)[:count]
            if not size:
                head = bytes(view[:SNIFF_SIZE])
            out.write(view)
            size += count
            if hasher is None and count < BUFFER_SIZE:
                digest.update(view)  # the whole file was in one buffer
                break
            if hasher is None:
                hasher = threading.Thread(target=hash_buffers, name="media-sha256", daemon=True)
                hasher.start()
            filled.put(view)
            if count < BUFFER_SIZE:
                break  # the end of the stream
    finally:
        filled.put(None)
        if hasher is not None:
            hasher.join()
    if failure:
        raise failure[0]
    return digest.hexdigest(), size, head


class _DownloadFile(File):
    """A named temporary file that file-system storage moves into place (Django's
    `temporary_file_path` protocol, as for large uploads) instead of copying it: a large video
    is renamed, not written twice. Other storages read it."""

    def __init__(self):
        # Closed (and so removed) by this File's own close(), as the `with` block ends.
        super().__init__(tempfile.NamedTemporaryFile(dir=_temp_dir(), prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX))  # noqa: SIM115

    def temporary_file_path(self) -> str:
        return self.file.name

    def close(self) -> None:
        with contextlib.suppress(FileNotFoundError):  # moved into storage: nothing to remove
            self.file.close()


@transaction.atomic
def media_store(fetched: list[Fetched]) -> list[Media]:
    """Move whole files into place and mark their rows stored, in one transaction with one
    append to the audit trail for them all (a decision's files are stored together: their commits
    and the audit chain's lock would otherwise be one each).

    Two workers may download the same file (a task delivered twice): the row locks let one store
    it; the other finds it stored and drops its copy."""
    if not fetched:
        return []
    rows = Media.objects.select_for_update().select_related("session").in_bulk([f.media_id for f in fetched])
    stored, entries = [], []
    for f in fetched:
        media = rows[f.media_id]
        if media.state == Media.State.STORED:
            stored.append(media)
            continue
        name = f"evidence/{media.session.reference}/{media.provider_media_id}{f.ext}"
        if default_storage.exists(name):
            default_storage.delete(name)  # left by a run killed between writing and committing
        f.tmp.name = os.path.basename(name)
        media.file.name = default_storage.save(name, f.tmp)
        media.sha256 = f.sha256
        media.size = f.size
        media.mime_type = f.mime
        media.proven_type = f.proven
        media.state = Media.State.STORED
        media.error = ""
        media.stored_at = timezone.now()
        media.next_attempt_at = None
        fields = [
            *("file", "sha256", "size", "mime_type", "proven_type"),
            *("state", "error", "stored_at", "next_attempt_at"),
        ]
        media.save(update_fields=fields)
        entries.append(
            audit_event(
                action="media.stored",
                actor_label=f"provider:{media.session.provider}",
                customer_id=media.session.customer_id,
                session=media.session,
                object=media,
                after={"context": media.context, "sha256": f.sha256, "size": f.size, "mime_type": f.mime},
            )
        )
        stored.append(media)
    if entries:
        audit_append(entries)
    return stored


def _record_failure(media_id: int, exc: ProviderError) -> None:
    Media.objects.filter(pk=media_id).exclude(state=Media.State.STORED).update(
        state=Media.State.FAILED if exc.permanent else Media.State.PENDING, error=str(exc)[:1000]
    )
