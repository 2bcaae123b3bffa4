"""Every endpoint, event and delivery is visible here; deliveries (with each HTTP try) can be
replayed. Events and deliveries are records: nothing is edited by hand."""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils.html import format_html

from notifications import egress, services
from notifications.models import Delivery, DeliveryAttempt, Endpoint, Event


class EndpointForm(forms.ModelForm):
    class Meta:
        model = Endpoint
        fields = ("description",)  # and `url` when adding (the admin's fields, with its overrides)

    def clean_url(self):
        url = self.cleaned_data["url"]
        if self.instance.pk is None:  # the URL is set once, when the endpoint is added
            refusal = egress.url_refusal(url)
            if refusal:
                raise forms.ValidationError(refusal)
        return url


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ("url", "description", "enabled", "api_key", "created_at", "created_by_label")
    list_filter = ("enabled",)
    fields = (
        "url",
        "description",
        "enabled",
        "api_key",
        "signing_secret",
        "previous_secret_expires_at",
        "created_at",
        "created_by_label",
        "disabled_at",
    )
    readonly_fields = (
        "enabled",
        "api_key",
        "signing_secret",
        "previous_secret_expires_at",
        "created_at",
        "created_by_label",
        "disabled_at",
    )
    list_select_related = ("api_key",)
    actions = ["disable", "rotate_secret"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_delete_permission(self, request, obj=None):
        return False  # its deliveries are the record of what was sent where

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "url") if obj else self.readonly_fields

    @admin.display(description="signing secret")
    def signing_secret(self, obj):
        if not obj or not obj.pk:
            return "(generated when saved)"
        return format_html("<code>{}</code>", obj.secret)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["description"])
            return
        created = services.endpoint_create(url=obj.url, description=obj.description, actor=request.user)
        obj.pk = created.pk
        obj.secret = created.secret
        messages.info(request, "Deliveries are signed with the secret shown on the endpoint's page.")

    @admin.action(description="Disable (stop sending)", permissions=["change"])
    def disable(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_disable(endpoint=endpoint, actor=request.user)
        self.message_user(request, f"Disabled {queryset.count()} endpoint(s).", messages.SUCCESS)

    @admin.action(
        description="Rotate signing secret (the old one signs too until it expires)", permissions=["change"]
    )
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_secret_rotate(endpoint=endpoint, actor=request.user)
        self.message_user(
            request,
            f"Rotated the secret of {queryset.count()} endpoint(s): the new one is on each endpoint's page.",
            messages.SUCCESS,
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ("endpoint", "state", "attempts", "last_status_code", "next_attempt_at", "succeeded_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("id", "type", "customer", "sequence", "created_at")
    list_filter = ("type",)
    search_fields = ("id", "customer__external_ref")
    list_select_related = ("customer",)
    fields = ("id", "type", "customer", "sequence", "data", "created_at")
    readonly_fields = fields
    inlines = [DeliveryInline]


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ("attempted_at", "succeeded", "status_code", "error", "duration_ms")
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "event_type",
        "customer",
        "sequence",
        "endpoint",
        "state",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "succeeded_at",
    )
    list_filter = ("state", "endpoint")
    search_fields = ("event__id", "customer__external_ref")
    list_select_related = ("event", "customer", "endpoint")
    fields = (
        "event",
        "endpoint",
        "customer",
        "sequence",
        "state",
        "attempts",
        "window_started_at",
        "next_attempt_at",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "succeeded_at",
        "created_at",
    )
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["replay"]

    def has_change_permission(self, request, obj=None):
        # The change page shows the delivery and its tries; the replay action needs this permission.
        return request.user.has_perm("notifications.change_delivery")

    def save_model(self, request, obj, form, change):
        pass  # a delivery is a record: the page only shows it (and offers the replay action)

    @admin.display(description="type")
    def event_type(self, obj):
        return obj.event.type

    @admin.action(description="Replay (send again now)", permissions=["change"])
    def replay(self, request, queryset):
        for delivery in queryset:
            services.delivery_replay(delivery=delivery, actor=request.user)
        self.message_user(request, f"Queued {queryset.count()} delivery(ies) again.", messages.SUCCESS)
