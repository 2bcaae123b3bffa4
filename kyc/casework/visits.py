"""A staff member's visit of a case page, audited once: one "case.viewed" entry, and one
"media.viewed" entry listing the evidence the page showed, instead of one entry per thumbnail the
browser fetches.

The page's thumbnails and players carry a signed visit token (this user, this session, for a
working day); the media content view serves them without another entry, because the visit's entry
already names them. A file opened any other way (the full-size link, a download, an old URL, another
user) is audited on its own, as before."""

from __future__ import annotations

from django.core import signing

from kyc.audit import audit_append, audit_event
from kyc.models import Media, VerificationSession

_SALT = "kyc.casework.visit"
# A page left open for a day and its video played then is still the same visit; a token older
# than a working day (a bookmarked URL) is audited as a direct open.
VISIT_MAX_AGE_SECONDS = 12 * 3600


def case_visit_record(*, session: VerificationSession, media_shown: list[Media], actor) -> str:
    """Audit the visit and return the token for the page's media URLs. Both entries are chained in
    one append (one lock, one insert)."""
    events = [
        audit_event(
            action="case.viewed",
            actor=actor,
            customer_id=session.customer_id,
            session=session,
            object=session,
        )
    ]
    if media_shown:
        events.append(
            audit_event(
                action="media.viewed",
                actor=actor,
                customer_id=session.customer_id,
                session=session,
                object=session,
                after={
                    "via": "case page",
                    "media": [m.pk for m in media_shown],
                    "contexts": [m.context for m in media_shown],
                },
            )
        )
    audit_append(events)
    return signing.dumps({"u": actor.pk, "s": session.pk}, salt=_SALT, compress=True)


def visit_covers(token: str, *, actor, media: Media) -> bool:
    """Whether a request for `media` comes from a page visit that was audited with it: a valid,
    fresh token of this user for this media's session."""
    if not token:
        return False
    try:
        visit = signing.loads(token, salt=_SALT, max_age=VISIT_MAX_AGE_SECONDS)
    except signing.BadSignature:  # SignatureExpired included
        return False
    return isinstance(visit, dict) and visit.get("u") == actor.pk and visit.get("s") == media.session_id


def media_shown_on_page(media: list[Media]) -> list[Media]:
    """The files the case page shows inline (pictures and players): the ones its visit covers.
    Downloads are not shown, so they are audited when opened."""
    return [
        m
        for m in media
        if m.state == Media.State.STORED
        and (m.shown_type.startswith("image/") or m.shown_type.startswith("video/"))
    ]
