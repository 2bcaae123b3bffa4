"""API keys in the back-office: created here (the key is shown once), listed by prefix, revoked."""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from api import services
from api.models import ApiKey, IdempotencyRecord


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=ApiKey.Scope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ["name", "scopes"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ("name", "prefix", "scope_list", "active", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "scopes")
        return (
            "name",
            "prefix",
            "scope_list",
            "created_at",
            "created_by",
            "last_used_at",
            "revoked_at",
            "revoked_by",
        )

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.get_fields(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, never deleted: the audit trail names keys

    @admin.display(description="scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

    @admin.display(description="active", boolean=True)
    def active(self, obj):
        return obj.is_active

    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing of a key is edited; revoke it and create another
        created, raw_key = services.api_key_create(
            name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"], actor=request.user
        )
        obj.pk = created.pk
        messages.warning(
            request,
            format_html(
                "The new API key is <code>{}</code>. Copy it now: it is not stored and will not be "
                "shown again.",
                raw_key,
            ),
        )

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke(self, request, queryset):
        for api_key in queryset:
            services.api_key_revoke(api_key=api_key, actor=request.user)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ("key", "client", "method", "path", "state", "response_status", "created_at")
    list_filter = ("state",)
    search_fields = ("key", "path")
    readonly_fields = [f.name for f in IdempotencyRecord._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
