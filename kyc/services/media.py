"""The provider's media listing of a session, recorded as rows to download (kyc/media.py fetches
and stores the files)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from kyc.media import media_store_delivered
from kyc.models import Media, VerificationSession
from kyc.services.attempts import attempt_for
from providers.base import MEDIA_INLINE, MediaItem


def media_register(*, session_id: int, items: list[MediaItem]) -> list[int]:
    """Record the provider's media listing; returns the ids of the rows still to download."""
    return [media.pk for media in media_register_pending(session_id=session_id, items=items)]


@transaction.atomic
def media_register_pending(*, session_id: int, items: list[MediaItem]) -> list[Media]:
    """Record the provider's media listing; returns the rows still to download, with their session
    and attempt (kyc.tasks downloads them at once, without reading them again)."""
    session = VerificationSession.objects.select_for_update().get(pk=session_id)
    attempts = {a.provider_attempt_id: a for a in session.attempts.all()}
    listed, new = set(), []
    for item in items:
        if item.provider_media_id in listed:
            continue
        listed.add(item.provider_media_id)
        attempt = attempts.get(item.attempt_id)
        if item.attempt_id and attempt is None:
            attempt = attempts[item.attempt_id] = attempt_for(session, item.attempt_id, None)
        new.append(
            Media(
                session=session,
                provider_media_id=item.provider_media_id,
                attempt=attempt,
                context=item.context[:50],
                kind=item.kind,
                name=item.name[:200],
                mime_type=item.mime_type[:100],
            )
        )
    # One INSERT for the listing; the files we have already are left as they are (the unique
    # session + provider id; ignore_conflicts), so a listing read again adds only what is new.
    # The session's row lock keeps two listings of it from racing.
    Media.objects.bulk_create(new, ignore_conflicts=True)
    session.media_listed_at = timezone.now()
    session.save(update_fields=["media_listed_at"])
    # Parked and purged files are left alone: a human decides on the first, retention on the second.
    pending = session.media.filter(state=Media.State.PENDING, parked_at=None, purged_at=None)
    pending = list(pending.select_related("attempt"))
    for media in pending:
        media.session = session
    return pending


def media_store_inline(*, session_id: int, items: Sequence[MediaItem]) -> None:
    """Store the media that came with an update (ProviderUpdate.media: ShareID's images, in a
    fetched result or in a callback) as any media: a row each, once per provider media id (the
    same image by callback and by fetch is one Media, stored once), its bytes written through the
    downloads' temporary file (no half file), hashed, their type proven, audited
    (kyc/media.py, media_store_delivered). Recorded as a listing of the session, so that a file
    stored here is never asked of the provider again. Raises ProviderError, as a listing does."""
    inline = [item for item in items if item.source == MEDIA_INLINE and item.content]
    if not inline:
        return
    pending = media_register_pending(session_id=session_id, items=inline)
    wanted = {item.provider_media_id for item in inline}
    # Only this update's files: the session's other pending ones are their downloads' to fetch.
    media_store_delivered(
        session_id=session_id,
        items=inline,
        pending=[row for row in pending if row.provider_media_id in wanted],
    )
