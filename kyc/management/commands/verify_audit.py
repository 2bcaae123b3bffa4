"""Walk the audit trail's hash chain and name the first entry that does not hold.

Exit status 0 when the whole chain holds, 1 (CommandError) at the first broken entry. The chain
proves nothing was changed, removed or reordered *before* its last entry; to detect the newest
entries being cut off, keep the printed head (count and hash) somewhere else, and pass it back
with --expect-head.
"""

from django.core.management.base import BaseCommand, CommandError

from kyc.audit import verify_chain
from kyc.models import AuditEvent


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; names the first broken entry (non-zero exit)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--expect-head",
            metavar="COUNT:HASH",
            help="a head printed by an earlier run: fail unless that entry is still in the chain",
        )

    def handle(self, *args, expect_head=None, **options):
        report = verify_chain()
        if report.first_break is not None:
            event = AuditEvent.objects.filter(pk=report.first_break.event_id).first()
            what = f"{event.created_at:%Y-%m-%d %H:%M:%S} {event.action}" if event else ""
            raise CommandError(
                f"Audit chain broken at entry #{report.first_break.event_id} ({what}): "
                f"{report.first_break.problem}. {report.entries - 1} entries before it verified."
            )
        if expect_head:
            count, _, digest = expect_head.partition(":")
            if not AuditEvent.objects.filter(hash=digest).exists() or report.entries < int(count or 0):
                raise CommandError(
                    f"The expected head ({expect_head}) is no longer in the chain: "
                    "entries were removed from its end."
                )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.entries} entries."))
        self.stdout.write(f"Head: {report.entries}:{report.head}")
