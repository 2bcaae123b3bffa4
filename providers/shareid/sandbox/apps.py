from django.apps import AppConfig


class ShareIDSandboxConfig(AppConfig):
    name = "providers.shareid.sandbox"
    label = "shareid_sandbox"
    verbose_name = "ShareID sandbox"
    default_auto_field = "django.db.models.BigAutoField"
