"""/metrics: Prometheus text format, for the scraper holding KYC_METRICS_TOKEN and for staff.

The figures are read from the database at scrape time, not counted in process memory: the app
runs as several gunicorn and Celery processes, possibly on several hosts, and the database is the
one place that sees all their work. Every delivery, attempt and piece of parked work is recorded
on its row (webhooks.InboundEvent, kyc.Media, kyc.VerificationSession), so the counters survive
restarts and agree across processes.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Min, Q, Sum
from django.http import HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from kyc.models import Media, VerificationSession
from kyc.staff_session import staff_session_complete
from webhooks.models import InboundEvent

S = InboundEvent.State


def _age(oldest) -> float:
    return (timezone.now() - oldest).total_seconds() if oldest else 0.0


class KycCollector:
    def collect(self) -> Iterator:
        yield from self._webhooks()
        yield from self._work()

    def _webhooks(self):
        received = CounterMetricFamily(
            "kyc_webhooks_received",
            "Webhook deliveries received, duplicates included",
            labels=["provider", "kind"],
        )
        rejected = CounterMetricFamily(
            "kyc_webhooks_rejected",
            "Deliveries refused (not authentic, or unreadable)",
            labels=["provider", "reason"],
        )
        processed = CounterMetricFamily("kyc_webhooks_processed", "Events applied", labels=["provider"])
        duplicates = CounterMetricFamily(
            "kyc_webhooks_duplicates", "Repeated deliveries", labels=["provider"]
        )
        rows = (
            InboundEvent.objects.values("provider", "kind")
            .annotate(
                n=Count("id"),
                dup=Sum("duplicates"),
                forged=Count("id", filter=Q(state=S.REJECTED)),
                broken=Count("id", filter=Q(state=S.MALFORMED)),
                done=Count("id", filter=Q(state=S.PROCESSED)),
            )
            .order_by("provider", "kind")
        )
        per_provider: dict[str, dict[str, int]] = {}
        for row in rows:
            received.add_metric([row["provider"], row["kind"]], row["n"] + (row["dup"] or 0))
            totals = per_provider.setdefault(row["provider"], {"forged": 0, "broken": 0, "done": 0, "dup": 0})
            for key in totals:
                totals[key] += row[key] or 0
        for provider, totals in per_provider.items():
            rejected.add_metric([provider, "unauthenticated"], totals["forged"])
            rejected.add_metric([provider, "malformed"], totals["broken"])
            processed.add_metric([provider], totals["done"])
            duplicates.add_metric([provider], totals["dup"])
        backlog = GaugeMetricFamily(
            "kyc_webhooks_backlog", "Events not processed, by state", labels=["state"]
        )
        open_events = InboundEvent.objects.filter(
            authenticated=True, state__in=[S.RECEIVED, S.WAITING, S.FAILED]
        )
        counts = dict(open_events.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
        for state in (S.RECEIVED, S.WAITING, S.FAILED):
            backlog.add_metric([state], counts.get(state, 0))
        oldest = InboundEvent.objects.filter(authenticated=True, state=S.RECEIVED).aggregate(
            t=Min("received_at")
        )
        age = GaugeMetricFamily(
            "kyc_webhooks_queue_age_seconds",
            "Age of the oldest event waiting to be processed",
            value=_age(oldest["t"]),
        )
        return [received, rejected, processed, duplicates, backlog, age]

    def _work(self):
        attempts = CounterMetricFamily("kyc_task_attempts", "Task runs on a piece of work", labels=["work"])
        retries = CounterMetricFamily("kyc_task_retries", "Task runs beyond the first", labels=["work"])
        parked = GaugeMetricFamily(
            "kyc_work_parked", "Work that gave up and waits for a human", labels=["work"]
        )
        queue_age = GaugeMetricFamily(
            "kyc_work_queue_age_seconds", "Age of the oldest piece of work not done", labels=["work"]
        )
        media = Media.objects.aggregate(
            runs=Sum("download_attempts"),
            tried=Count("id", filter=Q(download_attempts__gt=0)),
            parked=Count("id", filter=Q(parked_at__isnull=False)),
            oldest=Min("created_at", filter=Q(state=Media.State.PENDING, parked_at=None)),
        )
        sessions = VerificationSession.objects.aggregate(
            runs=Sum("provider_attempts"),
            tried=Count("id", filter=Q(provider_attempts__gt=0)),
            parked=Count("id", filter=Q(parked_at__isnull=False)),
            oldest=Min(
                "created_at",
                filter=Q(provider_session_id=None, parked_at=None, provider_error_permanent=False),
            ),
        )
        events = InboundEvent.objects.filter(authenticated=True).aggregate(
            runs=Sum("attempts"),
            tried=Count("id", filter=Q(attempts__gt=0)),
            parked=Count("id", filter=Q(state=S.FAILED)),
        )
        for work, figures in (
            ("media_download", media),
            ("provider_create", sessions),
            ("inbound_event", events),
        ):
            runs = figures["runs"] or 0
            attempts.add_metric([work], runs)
            retries.add_metric([work], runs - figures["tried"])
            parked.add_metric([work], figures["parked"])
            if "oldest" in figures:
                queue_age.add_metric([work], _age(figures["oldest"]))
        return [attempts, retries, parked, queue_age]


def _allowed(request) -> bool:
    token = settings.KYC_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and constant_time_compare(header[len("Bearer ") :], token):
        return True
    return staff_session_complete(request)


@never_cache
def metrics(request):
    if not _allowed(request):
        return HttpResponse("authentication required\n", status=401, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(KycCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
