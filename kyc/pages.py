"""The site's own small pages: the landing page at `/` (the admin's "View site" link goes there),
the favicon browsers ask for at `/favicon.ico`, and the back-office's 403 page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET


@require_GET
def home(request):
    """Where "View site" leads: what this deployment serves, and where each part is."""
    return render(request, "home.html", {"api_docs_public": settings.KYC_API_DOCS_PUBLIC})


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request):
    # Browsers ask for /favicon.ico on pages that name no icon (a JSON error, a file): one
    # redirect to the static file instead of a 404 in every log.
    return redirect(static("favicon.ico"), permanent=True)


def _permission_label(codename: str) -> str:
    """'kyc.confirm_override' as its name ("Can confirm …"), for a person to read."""
    app_label, _, name = codename.partition(".")
    label = (
        Permission.objects.filter(content_type__app_label=app_label, codename=name)
        .values_list("name", flat=True)
        .first()
    )
    return f"“{label}” ({codename})" if label else codename


def missing_permission(codename: str) -> str:
    """The reason a PermissionDenied gives when one permission is missing: shown on the 403 page."""
    return f"This needs the permission {_permission_label(codename)}, which your roles do not give you."


def permission_denied_page(request, exception=None):
    """Django's handler403 outside the API: the back-office's layout, and why."""
    reason = str(exception or "").strip()
    context = {
        **admin.site.each_context(request),
        "title": "Not allowed",
        "reason": reason,
        "roles": list(request.user.groups.values_list("name", flat=True))
        if request.user.is_authenticated
        else [],
    }
    return render(request, "403.html", context, status=403)
