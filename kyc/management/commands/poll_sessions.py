"""`manage.py poll_sessions`: the poller as a process of its own (docs/operations.md), ticking like
the Celery beat task `kyc.tasks.poll_due`. `make run` starts it beside the development server,
which has no broker; in production it can replace the beat task, or run beside it."""

import json
import logging
import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError, close_old_connections
from django.db.models import Min
from django.utils import timezone

from kyc.models import VerificationSession
from kyc.operations.polling import poll_tick
from kyc.services.polling import PollReport

logger = logging.getLogger(__name__)

# The shortest pause between two ticks while sessions come due continuously: batches gather this
# much work at least rather than a session or two each.
MIN_PAUSE = 0.1


def _pause(rest_of_tick: float) -> float:
    """Until the next tick, or sooner when a session comes due before it (the lag then is not
    a whole tick)."""
    if rest_of_tick <= 0:
        return 0.0
    soonest = VerificationSession.objects.filter(poll_next_at__isnull=False).aggregate(
        at=Min("poll_next_at")
    )["at"]
    if soonest is None:
        return rest_of_tick
    return min(rest_of_tick, max(MIN_PAUSE, (soonest - timezone.now()).total_seconds()))


class Command(BaseCommand):
    help = (
        "Fetch the due sessions of the polled providers (ShareID), tick after tick, until stopped "
        "(SIGINT or SIGTERM: the batch in hand is finished first). Safe beside other pollers."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one tick, then exit")
        parser.add_argument(
            "--ticks", type=int, default=0, help="this many ticks, then exit (0: until stopped)"
        )
        parser.add_argument(
            "--tick",
            type=float,
            default=None,
            help="seconds from one tick's start to the next (KYC_POLL_TICK)",
        )
        parser.add_argument("--json", action="store_true", help="print the total report as JSON at the end")

    def handle(self, *args, **options):
        ticks = 1 if options["once"] else options["ticks"]
        if ticks < 0:
            raise CommandError("--ticks must be 0 (until stopped) or more")
        period = settings.KYC_POLL_TICK if options["tick"] is None else options["tick"]
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        total, done = PollReport(), 0
        while not stop.is_set():
            started = time.monotonic()
            # A long-lived process: a connection the database dropped is replaced, as per request.
            close_old_connections()
            try:
                report = poll_tick()
            except (OperationalError, InterfaceError) as exc:
                # The database is away (a restart, a failover): this process must outlive it, or
                # polling stops for every session until someone restarts it. The schedule is in
                # the database, so nothing is lost; the next tick tries a new connection.
                logger.error("poll_sessions: database unavailable, trying again: %s", type(exc).__name__)
                report = PollReport()
            total.add(report)
            done += 1
            if options["verbosity"] >= 2 and (report.claimed or report.dropped or report.past_lifetime):
                self.stderr.write(" ".join(f"{k}={v}" for k, v in report.as_dict().items()))
            if ticks and done >= ticks:
                break
            stop.wait(_pause(period - (time.monotonic() - started)))
        data = {"ticks": done, **total.as_dict()}
        if options["json"]:
            self.stdout.write(json.dumps(data))
        elif options["verbosity"] >= 1:
            self.stdout.write(", ".join(f"{name.replace('_', ' ')} {value}" for name, value in data.items()))
