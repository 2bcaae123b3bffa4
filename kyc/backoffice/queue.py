"""The review queue: the cases that need a human, oldest first, with their SLA clock; filters,
search, assignment (also in bulk). A case's page is kyc.backoffice.case."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, Exists, Q, Value, When
from django.db.models import Case as DbCase
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from kyc.backoffice import case
from kyc.backoffice.common import ReadOnlyMixin, age
from kyc.backoffice.filters import (
    AssigneeFilter,
    AwaitingConfirmationFilter,
    CustomerCountryFilter,
    DateRangeFilter,
    ProviderFilter,
    ReasonCodeFilter,
)
from kyc.casework import export, sla
from kyc.casework.export import EXPORT_CASE
from kyc.models import Case, ProviderDecision
from kyc.queue import review_queue
from kyc.reviews.policy import is_high_risk
from kyc.reviews.queue_state import open_earlier_sessions
from kyc.selectors import is_whole_identifier, session_search
from kyc.services import assignment
from kyc.services.reviews import ReviewError
from providers import registry

# The age's colour: on time, late, overdue (KYC_SLA_LATE_HOURS, KYC_SLA_OVERDUE_HOURS).
SLA_TONE = {sla.ON_TIME: "ok", sla.LATE: "warn", sla.OVERDUE: "bad"}


class SlaFilter(admin.SimpleListFilter):
    """Late and overdue cases (the SLA clock starts when the case entered the queue)."""

    title = "SLA"
    parameter_name = "sla"

    def lookups(self, request, model_admin):
        late, overdue = settings.KYC_SLA_LATE_HOURS, settings.KYC_SLA_OVERDUE_HOURS
        return [
            (sla.OVERDUE, f"Overdue ({overdue} h or more)"),
            (sla.LATE, f"Late ({late}–{overdue} h)"),
            (sla.ON_TIME, f"On time (under {late} h)"),
        ]

    def queryset(self, request, queryset):
        if self.value() not in sla.LABELS:
            return queryset
        return queryset.filter(sla.sla_q(self.value(), timezone.now()))


class AssignActionForm(ActionForm):
    assignee = forms.ModelChoiceField(
        queryset=assignment.assignable_users(), required=False, label="Assign to", empty_label="(choose)"
    )


@admin.register(Case)
class CaseAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "customer_column",
        "status_column",
        "provider",
        "reason_column",
        "age_column",
        "assignee_column",
        "country_column",
    )
    list_display_links = ("customer_column",)
    list_filter = (
        AwaitingConfirmationFilter,
        SlaFilter,
        "status",
        ProviderFilter,
        ReasonCodeFilter,
        AssigneeFilter,
        ("decided_at", DateRangeFilter),
        CustomerCountryFilter,
    )
    # Searched by get_search_results (index-friendly); listed so that the admin shows the box.
    search_fields = ("customer__last_name",)
    search_help_text = "Name, email, external reference, session reference or id, or document number"
    actions = ["assign_to_me", "assign_to", "unassign"]
    action_form = AssignActionForm
    list_per_page = 50
    show_full_result_count = False  # one COUNT fewer on a large queue

    def get_queryset(self, request):
        # `mine` rather than request state on self: one ModelAdmin serves every thread.
        mine = When(assignee_id=request.user.pk, then=Value(True))
        return review_queue().annotate(
            mine=DbCase(mine, default=Value(False), output_field=BooleanField()),
            # A decline (or provider review) the customer started again after, still open: the row
            # says so, or an approved new session would hide it (issue 12).
            earlier_open=Exists(open_earlier_sessions()),
        )

    def get_search_results(self, request, queryset, search_term):
        """Each word in the fields kyc.selectors.session_search covers with indexes (reference,
        provider session id, the customer's external reference, names, email), or the document
        number the provider read (decisions' JSON, trigram index of migration kyc 0007): the
        search box's help text. The sessions with a matching document are found first, so that
        the OR is of indexed conditions (an OR across the join, or a correlated EXISTS per
        queued case, is a scan: benchmarks/backoffice.py); a case is never listed twice."""
        if not search_term:
            return queryset, False
        condition = Q()
        for word in search_term.split():
            if is_whole_identifier(word):  # a UUID is no document number: its identifiers only
                condition &= session_search(word)
                continue
            documents = ProviderDecision.objects.filter(document__number__icontains=word).values("session_id")
            condition &= session_search(word) | Q(pk__in=documents)
        return queryset.filter(condition), False

    def get_ordering(self, request):
        return ("queued_at", "pk")  # oldest first (else the admin applies the model's order)

    def has_review_permission(self, request):
        return request.user.has_perm("kyc.review_case")

    def has_reassign_permission(self, request):
        return request.user.has_perm("kyc.reassign_case")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/do/<slug:action>/", view(self.action_view), name="kyc_case_action"),
            path("claim-next/", view(self.claim_next_view), name="kyc_case_claim_next"),
            path("export.csv", view(self.export_view), name="kyc_case_export_queue"),
            path("<int:object_id>/export.zip", view(self.case_file_view), name="kyc_case_export"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return case.case_page(request, self, object_id)

    def changelist_view(self, request, extra_context=None):
        extra = {
            "title": "Review queue",
            # "module_name" words the bulk selection ("Select all 120 cases"), the model's plural
            # ("review queue") names the list, not its rows.
            "module_name": "cases",
            "can_claim": request.user.has_perm("kyc.review_case"),
            "can_export": request.user.has_perm(EXPORT_CASE),
            **(extra_context or {}),
        }
        response = super().changelist_view(request, extra)
        # The "assign to" list is for the bulk action that needs the reassign permission: to an
        # analyst, who cannot run it, it would be a list that does nothing.
        context = getattr(response, "context_data", None) or {}
        if context.get("action_form") is not None and not self.has_reassign_permission(request):
            context["action_form"].fields.pop("assignee", None)
        return response

    @method_decorator(require_POST)
    def claim_next_view(self, request):
        return case.claim_next(request, self)

    def export_view(self, request):
        """The rows the list shows (same filters and search), all of them, as CSV; audited."""
        if not self.has_view_permission(request) or not request.user.has_perm(EXPORT_CASE):
            raise PermissionDenied
        cases = self.get_changelist_instance(request).get_queryset(request)
        rows = export.queue_csv(
            cases,
            actor=request.user,
            filters={k: v for k, v in request.GET.items() if k != "q"},
            searched=bool(request.GET.get("q")),
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="review-queue-{stamp}.csv"'
        response["Cache-Control"] = "private, no-store"
        return response

    def case_file_view(self, request, object_id):
        """The customer's case file (ZIP: evidence, SHA-256 manifest, decisions, comments, audit)."""
        if not self.has_view_permission(request) or not request.user.has_perm(EXPORT_CASE):
            raise PermissionDenied
        customer_id = Case.objects.filter(pk=object_id).values_list("customer_id", flat=True).first()
        if customer_id is None:
            raise Http404("No such case.")
        archive, name, _ = export.case_file_export(customer_id=customer_id, actor=request.user)
        response = FileResponse(archive, as_attachment=True, filename=name, content_type="application/zip")
        response["Cache-Control"] = "private, no-store"
        return response

    def action_view(self, request, object_id, action):
        return case.case_action(request, self, object_id, action)

    # --- columns (from the queue's annotations: no query per row) ------------------------------
    @admin.display(description="customer", ordering="customer__last_name")
    def customer_column(self, obj):
        return format_html(
            "<strong>{}</strong><br><small>{}</small>",
            obj.customer.full_name or "(no name)",
            obj.customer.external_ref,
        )

    @admin.display(description="status", ordering="status")
    def status_column(self, obj):
        badges = []
        if getattr(obj, "earlier_open", False):
            badges.append(mark_safe('<span class="bo-badge bo-bad">earlier decline open</span>'))
        if obj.awaiting_confirmation:
            badges.append(mark_safe('<span class="bo-badge bo-warn">awaiting a second person</span>'))
        if getattr(obj, "risk_flagged", False):
            badges.append(mark_safe('<span class="bo-badge bo-bad">risk flags</span>'))
        if getattr(obj, "screening_open", False):
            badges.append(mark_safe('<span class="bo-badge bo-bad">screening hit</span>'))
        badge = format_html_join("", " {}", ((b,) for b in badges))
        return format_html(
            '<span class="bo-status bo-status-{}">{}</span>{}', obj.status, obj.get_status_display(), badge
        )

    @admin.display(description="provider reason")
    def reason_column(self, obj):
        if not obj.reason_code:
            return "-"
        return format_html(
            '<span title="{}">{}</span> <small>{}</small>',
            obj.reason_code,
            obj.reason_code,
            registry.explain_reason(obj.provider, obj.reason_code),
        )

    @admin.display(description="age", ordering="queued_since")
    def age_column(self, obj):
        now = timezone.now()
        state = sla.sla_state(obj.queued_since, now)
        return format_html(
            '<span class="bo-age bo-age-{}" title="in the queue since {}">{}</span>{}',
            SLA_TONE[state],
            obj.queued_since,
            age(obj.queued_since, now),
            format_html(' <small class="bo-sla bo-sla-{}">{}</small>', state, sla.LABELS[state].lower())
            if state != sla.ON_TIME
            else "",
        )

    @admin.display(description="assignee", ordering="assignee__username")
    def assignee_column(self, obj):
        if obj.assignee_id is None:
            return mark_safe('<span class="bo-muted">unassigned</span>')
        if obj.mine:
            return mark_safe('<span class="bo-badge bo-mine">you</span>')
        return format_html(
            '<span class="bo-badge bo-other" title="assigned to someone else">{}</span>',
            obj.assignee.get_username(),
        )

    @admin.display(description="country", ordering="customer__country")
    def country_column(self, obj):
        country = obj.customer.country or "-"
        if is_high_risk(obj.customer.country):
            return format_html(
                '{} <span class="bo-badge bo-bad" title="KYC_HIGH_RISK_COUNTRIES">high risk</span>', country
            )
        return country

    # --- bulk actions (permissions checked here by Django, and again by the services) ----------
    def _assign(self, request, queryset, assignee):
        try:
            changed, refused = assignment.cases_assign(
                session_ids=list(queryset.values_list("pk", flat=True)), assignee=assignee, actor=request.user
            )
        except ReviewError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        verb = f"assigned to {assignee.get_username()}" if assignee else "unassigned"
        self.message_user(request, f"{changed} case(s) {verb}.", messages.SUCCESS)
        for reason in sorted(set(refused)):
            self.message_user(request, f"Left unchanged: {reason}", messages.WARNING)

    @admin.action(description="Assign to me", permissions=["review"])
    def assign_to_me(self, request, queryset):
        self._assign(request, queryset, request.user)

    @admin.action(description="Assign to the staff member chosen below", permissions=["reassign"])
    def assign_to(self, request, queryset):
        user_id = request.POST.get("assignee", "")
        assignee = assignment.assignable_users().filter(pk=user_id).first() if user_id.isdigit() else None
        if assignee is None:
            self.message_user(request, "Choose whom to assign the cases to.", messages.ERROR)
            return
        self._assign(request, queryset, assignee)

    @admin.action(description="Unassign", permissions=["review"])
    def unassign(self, request, queryset):
        self._assign(request, queryset, None)
