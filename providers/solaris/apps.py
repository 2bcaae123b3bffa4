from django.apps import AppConfig


class SolarisConfig(AppConfig):
    name = "providers.solaris"
    label = "solaris"
    verbose_name = "Solaris"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from providers.solaris import checks  # noqa: F401 (registers the start-up check)
