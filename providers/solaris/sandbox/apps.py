from django.apps import AppConfig


class SolarisSandboxConfig(AppConfig):
    name = "providers.solaris.sandbox"
    label = "solaris_sandbox"
    verbose_name = "Solaris sandbox"
    default_auto_field = "django.db.models.BigAutoField"
