"""`manage.py replay_webhooks`: queue failed (or waiting, or malformed) inbound events again
(docs/operations.md)."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from webhooks.models import InboundEvent
from webhooks.services import REPLAYABLE, inbound_event_replay


class Command(BaseCommand):
    help = (
        "Process stored webhooks again: by id, or every event in a state (failed by default). Only "
        "authentic failed, waiting or malformed events are replayed; each is applied at most once."
    )

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int, metavar="EVENT_ID")
        parser.add_argument(
            "--state", choices=[s.value for s in REPLAYABLE], default=InboundEvent.State.FAILED
        )
        parser.add_argument("--provider", help="only this provider's events")
        parser.add_argument("--dry-run", action="store_true", help="only count what would be replayed")

    def handle(self, *args, ids, state, provider, dry_run, **options):
        events = InboundEvent.objects.filter(authenticated=True, state__in=REPLAYABLE)
        events = events.filter(pk__in=ids) if ids else events.filter(state=state)
        if provider:
            events = events.filter(provider=provider)
        chosen = list(events.order_by("received_at", "pk").values_list("pk", flat=True))
        missing = sorted(set(ids) - set(chosen))
        if missing:
            raise CommandError(
                f"not replayable (unknown, not authentic, or not failed/waiting/malformed): {missing}"
            )
        if dry_run:
            self.stdout.write(f"{len(chosen)} event(s) would be replayed")
            return
        replayed = 0
        for event_id in tqdm(chosen, desc="replaying", unit="event", file=self.stderr):
            replayed += inbound_event_replay(event_id=event_id)
        self.stdout.write(f"{replayed} event(s) queued again")
