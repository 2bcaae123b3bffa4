from django.core.management.base import BaseCommand

from notifications import tasks


class Command(BaseCommand):
    help = "Send the notification deliveries that are due (what the periodic task does; cron-able)."

    def handle(self, *args, **options):
        count = tasks.deliveries_send_due()
        self.stdout.write(f"{count} deliveries due")
