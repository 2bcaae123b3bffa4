from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Outbound notifications"

    def ready(self):
        from notifications import tasks  # noqa: F401  (registers the sending task, queued by name)
