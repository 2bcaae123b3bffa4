"""Back-office (walking-skeleton level): see customers, sessions, attempts, decisions, media and
start a verification. Domain records are read-only here: every change goes through kyc.services.
"""

from django.contrib import admin, messages
from django.http import FileResponse, Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from kyc import services
from kyc.audit import audit_record
from kyc.flow.links import start_url
from kyc.models import Attempt, AuditEvent, Customer, Media, ProviderDecision, VerificationSession
from kyc.operations import erasure, work
from kyc.selectors import session_search
from providers.registry import get_provider, provider_names


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SessionInline(ReadOnlyMixin, admin.TabularInline):
    model = VerificationSession
    fields = ("session_link", "provider", "status", "created_at", "decided_at")
    readonly_fields = fields
    extra = 0
    show_change_link = False

    @admin.display(description="session")
    def session_link(self, obj):
        url = reverse("admin:kyc_verificationsession_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.provider_session_id or obj.reference)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    show_full_result_count = False  # see VerificationSessionAdmin
    list_display = ("external_ref", "full_name", "email", "kyc_status", "kyc_status_changed_at", "created_at")
    list_filter = ("kyc_status", "country")
    search_fields = ("external_ref", "first_name", "last_name", "email")
    readonly_fields = ("kyc_status", "kyc_status_changed_at", "created_at", "updated_at", "verification_link")
    fields = (
        "external_ref",
        "first_name",
        "last_name",
        "email",
        "date_of_birth",
        "country",
        "kyc_status",
        "kyc_status_changed_at",
        "verification_link",
        "created_at",
        "updated_at",
    )
    inlines = [SessionInline]
    actions = ["start_verification", "erase_personal_data"]

    def has_delete_permission(self, request, obj=None):
        return False  # evidence is kept; erasure is its own audited procedure

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "external_ref") if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            services.customer_update(customer=obj, changed=form.changed_data, actor=request.user)
        else:
            created = services.customer_create(
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

    @admin.action(description="Start a verification")
    def start_verification(self, request, queryset):
        for customer in queryset:
            services.verification_start(customer=customer, actor=request.user)
        self.message_user(request, f"Started {queryset.count()} verification(s).", messages.SUCCESS)


class AttemptInline(ReadOnlyMixin, admin.TabularInline):
    model = Attempt
    fields = ("provider_attempt_id", "status", "created_at", "updated_at")
    readonly_fields = fields
    extra = 0


class DecisionInline(ReadOnlyMixin, admin.StackedInline):
    model = ProviderDecision
    fields = (
        "status",
        "provider_status",
        "code_explained",
        "reason",
        "reason_explained",
        "decided_at",
        "received_at",
        "applied",
        "person",
        "document",
    )
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        # The code and reason columns read the session's provider: one query, not one per row.
        return super().get_queryset(request).select_related("session")

    @admin.display(description="code")
    def code_explained(self, obj):
        explanation = get_provider(obj.session.provider).explain_code(obj.code)
        return f"{obj.code} — {explanation}" if obj.code else "-"

    @admin.display(description="reason code")
    def reason_explained(self, obj):
        if not obj.reason_code:
            return "-"
        return f"{obj.reason_code} — {get_provider(obj.session.provider).explain_reason(obj.reason_code)}"


class MediaInline(ReadOnlyMixin, admin.TabularInline):
    model = Media
    fields = ("preview", "context", "attempt", "state", "mime_type", "size", "sha256", "stored_at")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        # The attempt column: one query for the page, not one per file (benchmarks/backoffice.py).
        return super().get_queryset(request).select_related("attempt")

    @admin.display(description="preview")
    def preview(self, obj):
        return media_preview(obj)


def media_preview(obj: Media):
    if obj.state != Media.State.STORED:
        return "-"
    url = reverse("admin:kyc_media_content", args=[obj.pk])
    if obj.mime_type.startswith("image/"):
        return format_html(
            '<a href="{}" target="_blank"><img src="{}" alt="{}" class="kyc-media-thumb"></a>',
            url,
            url,
            obj.context,
        )
    if obj.mime_type.startswith("video/"):
        return format_html('<video src="{}" controls preload="none" class="kyc-media-video"></video>', url)
    return format_html('<a href="{}">download</a>', url)


class ProviderFilter(admin.SimpleListFilter):
    """The configured providers, without a SELECT DISTINCT over every session to find them."""

    title = "provider"
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        return [(name, name) for name in provider_names()]

    def queryset(self, request, queryset):
        return queryset.filter(provider=self.value()) if self.value() else queryset


@admin.register(VerificationSession)
class VerificationSessionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "reference",
        "customer",
        "provider",
        "provider_session_id",
        "status",
        "created_at",
        "decided_at",
    )
    list_filter = ("status", ProviderFilter, ("parked_at", admin.EmptyFieldListFilter))
    actions = ["retry_at_provider"]
    search_fields = (
        "reference",
        "provider_session_id",
        "customer__external_ref",
        "customer__last_name",
        "customer__email",
    )
    list_select_related = ("customer",)
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

    readonly_fields = (
        "reference",
        "customer",
        "provider",
        "provider_session_id",
        "hosted_url",
        "status",
        "provider_error",
        "provider_attempts",
        "provider_next_attempt_at",
        "parked_at",
        "reconciled_at",
        "created_at",
        "provider_created_at",
        "started_at",
        "submitted_at",
        "decided_at",
        "last_decision_time",
        "created_by",
        "audit_trail",
    )
    fields = readonly_fields
    inlines = [AttemptInline, DecisionInline, MediaInline]

    class Media:
        css = {"all": ("kyc/admin.css",)}

    def has_change_permission(self, request, obj=None):
        # The change page is the case view; it edits nothing (no field is editable).
        return request.user.has_perm("kyc.view_verificationsession")

    def has_retry_permission(self, request):
        return request.user.has_perm("kyc.add_verificationsession")

    @admin.action(description="Retry creating at the provider (parked sessions)", permissions=["retry"])
    def retry_at_provider(self, request, queryset):
        queued = sum(
            work.session_unpark(session_id=pk, actor=request.user)
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Queued {queued} session(s); sessions the provider has are left alone.")

    @admin.display(description="audit trail")
    def audit_trail(self, obj):
        rows = obj.audit_events.order_by("created_at", "id")
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                "<li>{} — {} — {} {} → {}</li>",
                (
                    (
                        e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                        e.actor_label,
                        e.action,
                        e.before or "",
                        e.after or "",
                    )
                    for e in rows
                ),
            ),
        )


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
            work.media_unpark(media_id=pk, actor=request.user) for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Queued {queued} download(s); stored and purged files are left alone.")

    class Media:
        css = {"all": ("kyc/admin.css",)}

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
        """Evidence bytes, only to staff allowed to view media; every view is audited."""
        if not request.user.has_perm("kyc.view_media"):
            raise Http404
        media = Media.objects.select_related("session").filter(pk=media_id, state=Media.State.STORED).first()
        if media is None:
            raise Http404
        audit_record(
            action="media.viewed",
            actor=request.user,
            customer_id=media.session.customer_id,
            session=media.session,
            object=media,
            after={"context": media.context},
        )
        response = FileResponse(media.file.open("rb"), content_type=media.mime_type)
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Disposition"] = "inline"
        return response


@admin.register(ProviderDecision)
class ProviderDecisionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("session", "status", "code", "reason_code", "decided_at", "applied")
    list_filter = ("status", "code")
    list_select_related = ("session",)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "actor_label", "action", "object_type", "object_id")
    list_filter = ("action",)
    search_fields = ("action", "actor_label", "object_id")
