"""`manage.py erase_customer REF [REF …] --request-ref TICKET`: GDPR erasure (docs/operations.md)."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from kyc.models import Customer
from kyc.operations.erasure import customer_erase, erasure_media_count


class Command(BaseCommand):
    help = (
        "Erase customers' personal data (names, email, date of birth, evidence files, verified data, "
        "webhook bodies), keeping the minimal legal record and the audit trail. Audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("external_refs", nargs="+", metavar="EXTERNAL_REF")
        parser.add_argument(
            "--request-ref",
            required=True,
            help="the erasure request's reference (ticket), for the audit trail",
        )
        parser.add_argument("--operator", default="", help="who runs this (recorded as the actor)")

    def handle(self, *args, external_refs, request_ref, operator, **options):
        customers = {c.external_ref: c for c in Customer.objects.filter(external_ref__in=external_refs)}
        missing = [ref for ref in external_refs if ref not in customers]
        if missing:
            raise CommandError(f"no customer with external reference: {', '.join(missing)}; nothing erased")
        total = sum(erasure_media_count(c.pk) for c in customers.values())
        actor_label = f"command:{operator}" if operator else "command"
        with tqdm(total=total, desc="deleting evidence files", unit="file", file=self.stderr) as bar:
            for ref in external_refs:
                report = customer_erase(
                    customer_id=customers[ref].pk,
                    actor_label=actor_label,
                    request_ref=request_ref,
                    progress=bar.update,
                )
                note = " (had been erased before)" if report.already_erased else ""
                self.stdout.write(
                    f"{ref}: erased{note}; {report.files_deleted} file(s) deleted, "
                    f"{report.decisions_redacted} decision(s) and "
                    f"{report.webhooks_redacted} webhook(s) blanked, "
                    f"{report.sessions_closed} open session(s) closed"
                )
