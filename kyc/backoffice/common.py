"""Small pieces shared by the back-office admin classes."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils.html import format_html

from kyc.models import Media


class ReadOnlyMixin:
    """Domain records are evidence: nothing is added, changed or deleted through the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def media_url(media: Media) -> str:
    return reverse("admin:kyc_media_content", args=[media.pk])


def media_preview(obj: Media):
    """A thumbnail or player, always through the permission-checked, audited content view."""
    if obj.state != Media.State.STORED:
        return "-"
    url = media_url(obj)
    shown = obj.shown_type
    if shown == "application/pdf":
        return format_html('<a href="{}">download</a>', url)
    if shown.startswith("image/"):
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{}" class="bo-thumb"></a>',
            url,
            url,
            obj.context,
        )
    if shown.startswith("video/"):
        return format_html('<video src="{}" controls preload="none" class="bo-thumb"></video>', url)
    return format_html('<a href="{}">download</a>', url)


def age(since: dt.datetime | None, now: dt.datetime) -> str:
    """A case's age as staff read it: 35m, 5h 10m, 3d 4h."""
    if since is None:
        return "-"
    minutes = max(0, int((now - since).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"
