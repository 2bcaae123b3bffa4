from django.apps import AppConfig


class VeriffSandboxConfig(AppConfig):
    name = "providers.veriff.sandbox"
    label = "veriff_sandbox"
    verbose_name = "Veriff sandbox"
    default_auto_field = "django.db.models.BigAutoField"
