"""`manage.py purge`: the retention purge, now (docs/operations.md)."""

from dataclasses import asdict

from django.core.management.base import BaseCommand
from tqdm import tqdm

from kyc.operations.retention import purge_plan, retention_purge


class Command(BaseCommand):
    help = (
        "Delete evidence files and blank personal data past their retention periods "
        "(KYC_RETENTION_MEDIA_DAYS, KYC_RETENTION_RECORD_DAYS, KYC_RETENTION_REJECTED_WEBHOOK_DAYS)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="only say what would be purged")

    def handle(self, *args, **options):
        plan = purge_plan()
        self.stdout.write(
            f"due: {len(plan.media_ids)} evidence file(s), {len(plan.record_session_ids)} session record(s), "
            f"{len(plan.customer_ids)} customer profile(s), {plan.rejected_webhooks} rejected webhook(s)"
        )
        if options["dry_run"]:
            return
        with tqdm(total=plan.total, desc="purging", unit="item", file=self.stderr) as bar:
            report = retention_purge(progress=bar.update)
        self.stdout.write(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in asdict(report).items()))
