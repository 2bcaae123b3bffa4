from django.contrib import admin, messages
from django.utils.html import format_html

from webhooks.models import InboundEvent
from webhooks.services import inbound_event_replay


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "provider",
        "kind",
        "state",
        "authenticated",
        "provider_session_id",
        "received_at",
        "attempts",
        "duplicates",
    )
    list_filter = ("state", "provider", "kind", "authenticated")
    search_fields = ("provider_session_id", "dedupe_key")
    readonly_fields = (
        "provider",
        "kind",
        "state",
        "authenticated",
        "auth_error",
        "dedupe_key",
        "duplicates",
        "provider_session_id",
        "received_at",
        "claimed_at",
        "processed_at",
        "attempts",
        "remote_addr",
        "headers",
        "body_size",
        "body_sha256",
        "body_text",
        "error_text",
    )
    fields = readonly_fields
    actions = ["replay"]

    class Media:
        css = {"all": ("kyc/admin.css",)}

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="body (raw)")
    def body_text(self, obj):
        return format_html("<pre class='kyc-pre'>{}</pre>", bytes(obj.body).decode("utf-8", "replace"))

    @admin.display(description="error")
    def error_text(self, obj):
        return format_html("<pre class='kyc-pre'>{}</pre>", obj.error) if obj.error else "-"

    @admin.action(description="Replay (process again)", permissions=["change"])
    def replay(self, request, queryset):
        replayed = sum(inbound_event_replay(event_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            f"Queued {replayed} event(s) again; only failed, waiting or malformed events are replayed.",
            messages.SUCCESS if replayed else messages.WARNING,
        )
