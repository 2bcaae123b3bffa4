"""`manage.py reconcile`: the periodic reconciliation, now (docs/operations.md)."""

import datetime as dt
import json

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone
from tqdm import tqdm

from kyc.operations.reconcile import POLL_BATCH, quiet_sessions, reconcile


class Command(BaseCommand):
    help = (
        "Ask the provider about quiet sessions, close sessions past the provider's lifetime, and "
        "queue lost work again (provider sessions, media, inbound webhooks). Safe to run any time."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options):
        quiet_since = timezone.now() - dt.timedelta(seconds=settings.KYC_RECONCILE_QUIET_AFTER)
        total = min(quiet_sessions(quiet_since=quiet_since).count(), POLL_BATCH)
        with tqdm(
            total=total,
            desc="sessions polled",
            unit="session",
            file=self.stderr,
            disable=options["json"],
        ) as bar:
            report = reconcile(progress=bar.update)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
            return
        data = report.as_dict()
        requeued = ", ".join(f"{name} {count}" for name, count in data.pop("requeued").items())
        self.stdout.write(", ".join(f"{name.replace('_', ' ')} {value}" for name, value in data.items()))
        self.stdout.write(f"queued again: {requeued}")
