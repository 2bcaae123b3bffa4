"""The audit trail for auditors and supervisors: filter it, search it, export it as CSV. Nothing
here can change an entry (append-only: no add, change or delete, for superusers too)."""

from __future__ import annotations

import csv

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.urls import path
from django.utils import timezone

from kyc.audit import audit_record
from kyc.backoffice.common import ReadOnlyMixin
from kyc.backoffice.filters import DateRangeFilter
from kyc.models import AuditEvent
from kyc.pages import missing_permission

CSV_COLUMNS = (
    "id",
    "created_at",
    "actor_label",
    "action",
    "customer_id",
    "session_id",
    "object_type",
    "object_id",
    "before",
    "after",
    "prev_hash",
    "hash",
)


class _Echo:
    def write(self, value):
        return value


class ActionPrefixFilter(admin.SimpleListFilter):
    """Actions by family (review.*, case.*, media.*, …): a dozen choices rather than fifty."""

    title = "kind of action"
    parameter_name = "family"

    def lookups(self, request, model_admin):
        return [
            ("review", "Staff decisions"),
            ("case", "Assignment"),
            ("media", "Media (views, downloads)"),
            ("session", "Sessions"),
            ("customer", "Customers"),
            ("staff", "Staff sign-in"),
            ("audit", "Audit exports"),
        ]

    def queryset(self, request, queryset):
        return queryset.filter(action__startswith=f"{self.value()}.") if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "actor_label",
        "action",
        "customer_id",
        "session_id",
        "object_type",
        "object_id",
        "after",
    )
    list_filter = (ActionPrefixFilter, ("created_at", DateRangeFilter), "action", "object_type")
    search_fields = ("=action", "actor_label", "=object_id", "=customer__id", "=session__id")
    search_help_text = "Exact action (media.viewed), actor (user:alice), object id, customer id or session id"
    list_select_related = False
    show_full_result_count = False
    list_per_page = 100
    readonly_fields = (*CSV_COLUMNS[1:], "actor")
    fields = readonly_fields

    def get_urls(self):
        return [
            path("export.csv", self.admin_site.admin_view(self.export_view), name="kyc_auditevent_export"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra = {**(extra_context or {}), "can_export": request.user.has_perm("kyc.export_audit")}
        return super().changelist_view(request, extra)

    def export_view(self, request):
        """The entries the list shows (same filters and search), all of them, as CSV; the export
        itself is audited with the filters used."""
        if not request.user.has_perm("kyc.export_audit"):
            raise PermissionDenied(missing_permission("kyc.export_audit"))
        changelist = self.get_changelist_instance(request)
        queryset = changelist.get_queryset(request).order_by("id")
        # The filters used, but not the search text: it may be a name, and the trail keeps no
        # personal values (it outlives erasure).
        filters = {k: v for k, v in request.GET.items() if k != "q"}
        audit_record(
            action="audit.exported",
            actor=request.user,
            after={"filters": filters, "searched": bool(request.GET.get("q"))},
        )
        writer = csv.writer(_Echo())

        def rows():
            yield writer.writerow(CSV_COLUMNS)
            for event in queryset.iterator(chunk_size=2000):
                yield writer.writerow(
                    [
                        event.pk,
                        event.created_at.isoformat(),
                        event.actor_label,
                        event.action,
                        event.customer_id or "",
                        event.session_id or "",
                        event.object_type,
                        event.object_id,
                        _json(event.before),
                        _json(event.after),
                        event.prev_hash,
                        event.hash,
                    ]
                )

        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
        response["Cache-Control"] = "private, no-store"
        return response


def _json(value) -> str:
    import json

    return json.dumps(value, sort_keys=True, ensure_ascii=False) if value else ""
