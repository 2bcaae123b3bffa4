from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"

    def ready(self):
        # Registers the OpenAPI description of our authentication classes (drf-spectacular finds
        # extensions by import).
        from api import schema  # noqa: F401
