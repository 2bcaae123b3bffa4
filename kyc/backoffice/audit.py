"""The audit trail for auditors and supervisors: filter it, search it, export it as CSV. Nothing
here can change an entry (append-only: no add, change or delete, for superusers too)."""

from __future__ import annotations

import csv

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from kyc.audit import audit_record
from kyc.backoffice.common import ReadOnlyMixin
from kyc.backoffice.filters import DateRangeFilter
from kyc.casework.audit_text import action_label, actor_label, describe, usernames
from kyc.models import AuditEvent, Customer
from kyc.pages import missing_permission
from kyc.selectors import SEARCH_CUSTOMER_IDS_MAX

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
            ("case", "Cases (assignment, visits, comments, exports)"),
            ("queue", "Queue exports"),
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
    list_display = ("created_at", "who", "what", "customer_column", "case_column", "details")
    list_filter = (ActionPrefixFilter, ("created_at", DateRangeFilter), "action", "object_type")
    search_fields = ("=action", "actor_label", "=object_id", "=customer__id", "=session__id")
    search_help_text = (
        "Customer name or reference, exact action (media.viewed), actor (user:alice), object id, "
        "customer id or session id"
    )
    # The customer's name for each row in the page's one query (a join on its primary key).
    list_select_related = ("customer",)
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
        extra = {
            **(extra_context or {}),
            "can_export": request.user.has_perm("kyc.export_audit"),
            "is_nav_sidebar_enabled": False,  # the entries' details need the width
        }
        response = super().changelist_view(request, extra)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            # Usernames for the user ids in the page's entries: one query for the page, not per row.
            rows = list(changelist.result_list)
            users = usernames(rows)
            for row in rows:
                row.usernames = users
        return response

    def get_search_results(self, request, queryset, search_term):
        """The admin's own search (exact ids, actions, actors), or the entries of the customers whose
        reference or name contains the text: the customers are found first (their trigram
        indexes), so that the trail is filtered by an indexed customer id, not joined and scanned."""
        searched, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        words = search_term.split()
        if not words:
            return searched, may_have_duplicates
        by_customer = Q()
        for word in words:  # "sarah morgan": every word in the reference, first or last name
            if word.isdigit():
                # A number is an id (the case page links here with the customer's id): a reference
                # that is exactly it, not every reference that contains the digit.
                by_customer &= Q(external_ref=word)
                continue
            by_customer &= (
                Q(external_ref__icontains=word) | Q(first_name__icontains=word) | Q(last_name__icontains=word)
            )
        ids = list(
            Customer.objects.filter(by_customer).values_list("pk", flat=True)[:SEARCH_CUSTOMER_IDS_MAX]
        )
        if ids:
            # Both sides carry the list's filters: (filters and search) or (filters and customer).
            searched = searched | queryset.filter(customer_id__in=ids)
        return searched, may_have_duplicates

    # --- columns: words for people (kyc/casework/audit_text.py), no query per row ---------------
    @admin.display(description="who", ordering="actor_label")
    def who(self, obj):
        return actor_label(obj)

    @admin.display(description="what", ordering="action")
    def what(self, obj):
        return format_html('{}<br><small class="bo-muted">{}</small>', action_label(obj.action), obj.action)

    @admin.display(description="customer")
    def customer_column(self, obj):
        if obj.customer_id is None:
            return "-"
        customer = obj.customer
        name = "(erased)" if customer.erased_at else customer.full_name or "(no name)"
        return format_html(
            '<a href="{}">{}</a><br><small>{}</small>',
            reverse("admin:kyc_customer_change", args=[obj.customer_id]),
            name,
            customer.external_ref,
        )

    @admin.display(description="case")
    def case_column(self, obj):
        if obj.session_id is None:
            return "-"
        return format_html(
            '<a href="{}">case {}</a>',
            reverse("admin:kyc_case_change", args=[obj.session_id]),
            obj.session_id,
        )

    @admin.display(description="details")
    def details(self, obj):
        return describe(obj, getattr(obj, "usernames", {})) or "-"

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
