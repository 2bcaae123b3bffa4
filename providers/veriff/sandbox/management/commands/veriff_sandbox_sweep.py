from django.core.management.base import BaseCommand

from providers.veriff.sandbox import services


class Command(BaseCommand):
    help = (
        "Expire Veriff sandbox sessions past their 7-day lifetime (scaled by SIM_TIME_SCALE): "
        "never started → expired, started → abandoned (9104), with the decision webhook."
    )

    def handle(self, *args, **options) -> None:
        expired = services.sweep_expired_sessions()
        for session_id, status in expired:
            self.stdout.write(f"{session_id} {status}")
        self.stdout.write(self.style.SUCCESS(f"{len(expired)} session(s) expired."))
