"""The domain records in the admin: customers, sessions (whose page is the case page), media (the
audited content view), provider decisions, staff reviews and the list of review reasons."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from kyc import start_limits
from kyc.audit import audit_record
from kyc.backoffice.case import case_page
from kyc.backoffice.common import ReadOnlyMixin, media_preview
from kyc.backoffice.filters import CountryFilter, ProviderFilter
from kyc.casework.visits import visit_covers
from kyc.links import start_url
from kyc.media_serving import media_file_response, view_is_new
from kyc.models import Attempt, Customer, Media, ProviderDecision, Review, ReviewReason, VerificationSession
from kyc.operations import erasure
from kyc.selectors import session_search
from kyc.services import customers as kyc_customers
from kyc.services import retries
from kyc.services import sessions as kyc_sessions
from kyc.services.reviews import review_reason_save
from providers.registry import provider_choices, provider_names


class CustomerActionForm(ActionForm):
    """The customer list's action bar, with the provider for "Start a verification" when more than
    one is enabled (with one there is nothing to choose)."""

    provider = forms.ChoiceField(
        label="provider (to start a verification)", required=False, choices=(), initial=""
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        enabled = provider_choices()
        if len(enabled) < 2:
            del self.fields["provider"]
        else:
            self.fields["provider"].choices = [("", "default"), *enabled]


class SessionInline(ReadOnlyMixin, admin.TabularInline):
    model = VerificationSession
    fk_name = "customer"
    fields = ("session_link", "provider", "status", "assignee", "created_at", "decided_at")
    readonly_fields = fields
    extra = 0
    show_change_link = False

    @admin.display(description="session")
    def session_link(self, obj):
        url = reverse("admin:kyc_case_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.provider_session_id or obj.reference)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    show_full_result_count = False  # see VerificationSessionAdmin
    list_display = (
        "external_ref",
        "full_name",
        "email",
        "country",
        "kyc_status",
        "kyc_status_changed_at",
        "created_at",
    )
    list_filter = ("kyc_status", CountryFilter)
    search_fields = ("external_ref", "first_name", "last_name", "email")
    readonly_fields = (
        "kyc_status",
        "kyc_status_changed_at",
        "sessions_today",
        "created_at",
        "updated_at",
        "verification_link",
    )
    fields = (
        "external_ref",
        "first_name",
        "last_name",
        "email",
        "date_of_birth",
        "country",
        "kyc_status",
        "kyc_status_changed_at",
        "sessions_today",
        "verification_link",
        "created_at",
        "updated_at",
    )
    inlines = [SessionInline]
    actions = ["start_verification", "allow_more_sessions", "erase_personal_data"]
    action_form = CustomerActionForm

    def has_delete_permission(self, request, obj=None):
        return False  # evidence is kept; erasure is its own audited procedure

    def has_review_permission(self, request):
        return request.user.has_perm("kyc.review_case")

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "external_ref") if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            kyc_customers.customer_update(customer=obj, changed=form.changed_data, actor=request.user)
        else:
            created = kyc_customers.customer_create(
                external_ref=obj.external_ref,
                first_name=obj.first_name,
                last_name=obj.last_name,
                email=obj.email,
                date_of_birth=obj.date_of_birth,
                country=obj.country,
                actor=request.user,
            )
            obj.pk = created.pk

    @admin.display(description="end-user verification link")
    def verification_link(self, obj):
        if not obj or not obj.pk:
            return "-"
        url = start_url(obj.pk)
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)

    def has_erase_permission(self, request):
        return request.user.has_perm("kyc.erase_customer")

    @admin.action(description="Erase personal data (GDPR)…", permissions=["erase"])
    def erase_personal_data(self, request, queryset):
        """Asks for confirmation and the request's reference first (a second POST), then erases."""
        request_ref = request.POST.get("request_ref", "").strip()
        if request.POST.get("confirm") == "yes" and request_ref:
            for customer in queryset:
                erasure.customer_erase(customer_id=customer.pk, actor=request.user, request_ref=request_ref)
            self.message_user(
                request, f"Erased the personal data of {queryset.count()} customer(s).", messages.SUCCESS
            )
            return None
        return TemplateResponse(
            request,
            "admin/kyc/customer/erase_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "title": "Erase personal data",
                "customers": queryset,
                "files": sum(erasure.erasure_media_count(c.pk) for c in queryset),
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "missing_ref": request.POST.get("confirm") == "yes" and not request_ref,
                "opts": self.model._meta,
            },
        )

    @admin.action(description="Start a verification", permissions=["review"])
    def start_verification(self, request, queryset):
        # The action form checks the choice when it offers one; without the field (one provider
        # enabled) a posted name is checked here.
        provider = request.POST.get("provider") or None
        if provider is not None and provider not in provider_names():
            self.message_user(request, f"{provider!r} is not an enabled provider.", messages.ERROR)
            return
        started = 0
        for customer in queryset:
            try:
                kyc_sessions.verification_start(customer=customer, provider=provider, actor=request.user)
            except kyc_sessions.VerificationInputInvalid as invalid:
                self.message_user(request, f"{customer}: {invalid} Correct it first.", messages.ERROR)
            else:
                started += 1
        self.message_user(request, f"Started {started} verification(s).", messages.SUCCESS)

    @admin.action(description="Allow more sessions today", permissions=["review"])
    def allow_more_sessions(self, request, queryset):
        for customer in queryset:
            kyc_customers.customer_lift_session_cap(customer_id=customer.pk, actor=request.user)
        self.message_user(
            request,
            f"{queryset.count()} customer(s) may start new sessions again: the sessions so far no longer "
            f"count toward the daily limit of {start_limits.daily_cap()}.",
            messages.SUCCESS,
        )

    @admin.display(description="sessions in the last 24 hours")
    def sessions_today(self, obj):
        if not obj or not obj.pk:
            return "-"
        cap, counted = start_limits.daily_cap(), start_limits.sessions_counted(obj)
        text = f"{counted} of {cap} allowed" if cap else f"{counted} (no daily limit)"
        if cap and counted >= cap:
            text += ' - limit reached; use the action "Allow more sessions today"'
        if obj.session_cap_lifted_at:
            text += f" (staff allowed more on {obj.session_cap_lifted_at:%Y-%m-%d %H:%M} UTC)"
        return text


@admin.register(VerificationSession)
class VerificationSessionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Every session, whatever its state; a session's page is its case page."""

    list_display = (
        "reference",
        "customer",
        "provider",
        "provider_session_id",
        "status",
        "assignee",
        "created_at",
        "decided_at",
    )
    list_filter = ("status", ProviderFilter)
    # Searched by get_search_results (index-friendly); listed so that the admin shows the box.
    search_fields = (
        "reference",
        "provider_session_id",
        "customer__external_ref",
        "customer__last_name",
        "customer__email",
    )
    search_help_text = "Session reference or provider session id; the customer's reference, name or email"
    list_select_related = ("customer", "assignee")
    # "N of 200,000" costs a count of the whole table on every page: the filtered count is enough.
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        """Index-friendly search (benchmarks/backoffice.py): the admin's own search ORs the
        session's columns with the customer's across the join, which no index can serve. The
        matching customers are looked up first (their trigram indexes), so the session query is an
        OR of indexed conditions."""
        if not search_term:
            return queryset, False
        return queryset.filter(session_search(search_term)), False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return case_page(request, self, object_id)

    def has_retry_permission(self, request):
        return request.user.has_perm("kyc.add_verificationsession")

    @admin.action(description="Retry creating at the provider (parked sessions)", permissions=["retry"])
    def retry_at_provider(self, request, queryset):
        queued = sum(
            retries.session_unpark(session_id=pk, actor=request.user)
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Queued {queued} session(s); sessions the provider has are left alone.")


@admin.register(Media)
class MediaAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "pk",
        "session",
        "context",
        "kind",
        "state",
        "mime_type",
        "size",
        "stored_at",
        "parked_at",
    )
    list_filter = ("state", ("parked_at", admin.EmptyFieldListFilter), "kind", "context")
    list_select_related = ("session",)
    actions = ["retry_download"]
    readonly_fields = (
        "session",
        "attempt",
        "provider_media_id",
        "context",
        "kind",
        "name",
        "preview",
        "mime_type",
        "size",
        "sha256",
        "state",
        "download_attempts",
        "last_attempt_at",
        "next_attempt_at",
        "parked_at",
        "error",
        "created_at",
        "stored_at",
        "purged_at",
    )
    fields = readonly_fields

    def has_retry_permission(self, request):
        return request.user.has_perm("kyc.change_media")

    @admin.action(description="Retry the download (parked or failed files)", permissions=["retry"])
    def retry_download(self, request, queryset):
        queued = sum(
            retries.media_unpark(media_id=pk, actor=request.user)
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Queued {queued} download(s); stored and purged files are left alone.")

    @admin.display(description="preview")
    def preview(self, obj):
        return media_preview(obj)

    def get_urls(self):
        return [
            path(
                "<int:media_id>/content/",
                self.admin_site.admin_view(self.content_view),
                name="kyc_media_content",
            ),
            *super().get_urls(),
        ]

    def content_view(self, request, media_id: int):
        """Evidence bytes, only to staff allowed to view media; every view is audited ("who looked
        at whose passport")."""
        if not request.user.has_perm("kyc.view_media"):
            raise Http404
        media = Media.objects.select_related("session").filter(pk=media_id, state=Media.State.STORED).first()
        if media is None:
            raise Http404
        range_header = request.headers.get("Range", "")
        # The case page's thumbnails were audited with the page's visit, once for all of them
        # (kyc/casework/visits.py); any other open of the file is audited here, once per opening
        # (a video's player asks for many ranges of the same file).
        covered = visit_covers(request.GET.get("visit", ""), actor=request.user, media=media)
        if not covered and view_is_new(
            media=media, viewer=f"user:{request.user.pk}", ranged=bool(range_header)
        ):
            audit_record(
                action="media.viewed",
                actor=request.user,
                customer_id=media.session.customer_id,
                session=media.session,
                object=media,
                after={"context": media.context},
            )
        return media_file_response(media, inline=True, range_header=range_header)


class AttemptInline(ReadOnlyMixin, admin.TabularInline):
    model = Attempt
    fields = ("provider_attempt_id", "status", "created_at", "updated_at")
    readonly_fields = fields
    extra = 0


@admin.register(ProviderDecision)
class ProviderDecisionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("session", "status", "code", "reason_code", "decided_at", "applied")
    list_filter = ("status", "code")
    list_select_related = ("session",)


@admin.register(Review)
class ReviewAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Every staff decision ever taken (none is edited or deleted); made on the case page."""

    # Six narrow columns, not eight wide ones: beside the navigation and the filters the list has
    # about 700 px on a 1366 px laptop screen, and a wider table scrolled sideways out of sight.
    list_display = (
        "proposed_column",
        "case_link",
        "outcome_column",
        "reason_column",
        "state",
        "people_column",
    )
    list_filter = ("state", "outcome", "is_override", "reason")
    list_select_related = ("session", "reason", "proposed_by", "confirmed_by")
    search_fields = ("customer__external_ref", "session__provider_session_id")
    date_hierarchy = "proposed_at"

    @admin.display(description="case")
    def case_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:kyc_case_change", args=[obj.session_id]), obj.session_id
        )

    @admin.display(description="proposed", ordering="proposed_at")
    def proposed_column(self, obj):
        local = timezone.localtime(obj.proposed_at)
        return format_html("{}<br><small>{}</small>", local.strftime("%Y-%m-%d"), local.strftime("%H:%M"))

    @admin.display(description="outcome", ordering="outcome")
    def outcome_column(self, obj):
        if not obj.is_override:
            return obj.get_outcome_display()
        return format_html(
            '{} <span class="bo-badge bo-warn" title="differs from the provider\'s decision">override</span>',
            obj.get_outcome_display(),
        )

    @admin.display(description="reason", ordering="reason__label")
    def reason_column(self, obj):
        return obj.reason.label  # a method, not the foreign key: the admin keeps those on one line

    @admin.display(description="by")
    def people_column(self, obj):
        proposed = obj.proposed_by.get_username()
        if obj.confirmed_by_id is None:
            return proposed
        return format_html("{}<br><small>confirmed by {}</small>", proposed, obj.confirmed_by.get_username())


@admin.register(ReviewReason)
class ReviewReasonAdmin(admin.ModelAdmin):
    """Compliance maintains the list; a reason in use is retired (inactive), never deleted."""

    list_display = ("label", "code", "outcome", "active", "position")
    list_editable = ("active", "position")
    list_filter = ("outcome", "active")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        review_reason_save(reason=obj, changed=form.changed_data, actor=request.user)
