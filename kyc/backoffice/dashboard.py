"""The dashboard on the admin index: cases by status, the queue's size and age, decisions per day,
time to decision, and how often staff agree with the provider. Figures come from a handful of
aggregate queries; charts are SVG drawn here on the server (no JavaScript, no CDN, works under a
strict Content Security Policy)."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from kyc import status as st
from kyc.casework import sla
from kyc.models import ProviderDecision, Review, VerificationSession
from kyc.queue import queue_counts, review_queue

DAYS = 14
TIME_WINDOW = dt.timedelta(days=30)
AGE_BUCKETS = [
    ("< 1 h", dt.timedelta(hours=1)),
    ("1–4 h", dt.timedelta(hours=4)),
    ("4–24 h", dt.timedelta(hours=24)),
    ("1–3 d", dt.timedelta(days=3)),
    ("> 3 d", None),
]


@dataclass
class Bar:
    label: str
    value: float
    tone: str = ""
    text: str = ""


def dashboard_context() -> dict:
    """The charts, computed at most once a minute (KYC_DASHBOARD_CACHE_SECONDS): they count the
    whole table, and a chart a minute old serves staff as well as a live one. The queue's tiles
    are live."""
    timeout = settings.KYC_DASHBOARD_CACHE_SECONDS
    if timeout <= 0:
        figures = _dashboard(timezone.now())
    else:
        figures = cache.get_or_set("kyc:backoffice:dashboard", lambda: _dashboard(timezone.now()), timeout)
    # The tiles repeat the header's badge (always live): counted again here, not a minute old, so
    # that one page never shows two sizes of the queue. One small query on the queue's index.
    return {**figures, "queue": {**figures["queue"], **queue_counts()}}


def _dashboard(now: dt.datetime) -> dict:
    by_status = dict(VerificationSession.objects.values_list("status").annotate(n=Count("pk")).order_by())
    status_bars = [Bar(label, by_status.get(code, 0), tone=code) for code, label in st.CHOICES]

    # Queue size and age: one query, the buckets counted by the database.
    bounds = {}
    previous = None
    for label, upper in AGE_BUCKETS:
        q = Q()
        if upper is not None:
            q &= Q(queued_at__gt=now - upper)
        if previous is not None:
            q &= Q(queued_at__lte=now - previous)
        bounds[label] = Count("pk", filter=q)
        previous = upper
    queue = review_queue().aggregate(
        total=Count("pk"),
        awaiting=Count("pk", filter=Q(awaiting_confirmation=True)),
        unassigned=Count("pk", filter=Q(assignee__isnull=True)),
        # The SLA (kyc/casework/sla.py): the dashboard's late and overdue tiles.
        late=Count("pk", filter=sla.sla_q(sla.LATE, now)),
        overdue=Count("pk", filter=sla.sla_q(sla.OVERDUE, now)),
        **{f"age_{i}": agg for i, agg in enumerate(bounds.values())},
    )
    age_bars = [
        Bar(label, queue[f"age_{i}"], tone="bad" if i >= 3 else "warn" if i == 2 else "ok")
        for i, (label, _) in enumerate(AGE_BUCKETS)
    ]

    days = [(now - dt.timedelta(days=n)).date() for n in range(DAYS - 1, -1, -1)]
    since = dt.datetime.combine(days[0], dt.time.min, tzinfo=dt.UTC)  # TIME_ZONE is UTC
    provider_per_day = dict(
        ProviderDecision.objects.filter(applied=True, received_at__gte=since)
        .annotate(day=TruncDate("received_at"))
        .values_list("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    staff_per_day = dict(
        Review.objects.filter(proposed_at__gte=since)
        .annotate(day=TruncDate("proposed_at"))
        .values_list("day")
        .annotate(n=Count("pk"))
        .order_by()
    )

    # Time to decision over the last 30 days: provider (submitted → decided) and staff (the
    # provider's result → the staff decision in effect).
    window = now - TIME_WINDOW
    provider_times = [
        (decided - submitted).total_seconds()
        for submitted, decided in VerificationSession.objects.filter(
            decided_at__gte=window, submitted_at__isnull=False
        ).values_list("submitted_at", "decided_at")
        if decided and decided >= submitted
    ]
    staff_times = [
        (effective - decided).total_seconds()
        for decided, effective in Review.objects.filter(
            effective_at__gte=window, session__decided_at__isnull=False
        ).values_list("session__decided_at", "effective_at")
        if effective >= decided
    ]

    agreement = Review.objects.filter(
        provider_status__in=[st.APPROVED, st.DECLINED, st.RESUBMISSION_REQUESTED]
    ).aggregate(
        agree=Count("pk", filter=Q(is_override=False)),
        override=Count("pk", filter=Q(is_override=True, state=Review.State.EFFECTIVE)),
        rejected=Count("pk", filter=Q(is_override=True, state=Review.State.REJECTED)),
    )
    decided = agreement["agree"] + agreement["override"]
    return {
        "computed_at": now,
        "sla_late_hours": settings.KYC_SLA_LATE_HOURS,
        "sla_overdue_hours": settings.KYC_SLA_OVERDUE_HOURS,
        "queue": queue,
        "status_chart": hbar_chart(status_bars, title="Sessions by status"),
        "age_chart": hbar_chart(age_bars, title="Queue by age"),
        "per_day_chart": column_chart(
            [d.strftime("%d %b") for d in days],
            [
                ("Provider decisions", "provider", [provider_per_day.get(d, 0) for d in days]),
                ("Staff decisions", "staff", [staff_per_day.get(d, 0) for d in days]),
            ],
            title=f"Decisions per day, last {DAYS} days",
        ),
        "time_chart": column_chart(
            [label for label, _ in AGE_BUCKETS],
            [
                ("Provider (submitted → decided)", "provider", _histogram(provider_times)),
                ("Staff (provider result → final)", "staff", _histogram(staff_times)),
            ],
            title="Time to decision, last 30 days",
            every_label=True,
        ),
        "times": [
            _time_row("Provider (submitted → decided)", provider_times),
            _time_row("Staff (provider result → final decision)", staff_times),
        ],
        "agreement": agreement,
        "agreement_rate": round(100 * agreement["agree"] / decided) if decided else None,
        "agreement_chart": hbar_chart(
            [
                Bar("Agreed with provider", agreement["agree"], "good"),
                Bar("Overrode (confirmed)", agreement["override"], "warn"),
                Bar("Override rejected", agreement["rejected"], "bad"),
            ],
            title="Staff vs provider",
        ),
    }


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"


def _histogram(seconds: list[float]) -> list[int]:
    """How many durations fall in each AGE_BUCKETS bucket."""
    counts = [0] * len(AGE_BUCKETS)
    for value in seconds:
        for i, (_, upper) in enumerate(AGE_BUCKETS):
            if upper is None or value < upper.total_seconds():
                counts[i] += 1
                break
    return counts


def _time_row(label: str, seconds: list[float]) -> dict:
    if not seconds:
        return {"label": label, "count": 0, "median": "–", "p90": "–"}
    ordered = sorted(seconds)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return {
        "label": label,
        "count": len(ordered),
        "median": _duration(statistics.median(ordered)),
        "p90": _duration(p90),
    }


# --- SVG ----------------------------------------------------------------------------------------
ROW = 22
LABEL_W = 170
BAR_W = 260


def hbar_chart(bars: list[Bar], *, title: str) -> SafeString:
    """Horizontal bars with their values; colours come from classes in backoffice.css."""
    top = max((b.value for b in bars), default=0) or 1
    height = ROW * len(bars) + 6
    rows = format_html_join(
        "",
        '<g transform="translate(0,{})">'
        '<text x="{}" y="15" class="bo-chart-label" text-anchor="end">{}</text>'
        '<rect x="{}" y="3" width="{}" height="15" rx="2" class="bo-bar bo-bar-{}"></rect>'
        '<text x="{}" y="15" class="bo-chart-value">{}</text></g>',
        (
            (
                i * ROW,
                LABEL_W - 8,
                b.label,
                LABEL_W,
                max(1, round(BAR_W * b.value / top)) if b.value else 0,
                b.tone or "default",
                LABEL_W + (round(BAR_W * b.value / top) if b.value else 0) + 6,
                b.text or f"{b.value:g}",
            )
            for i, b in enumerate(bars)
        ),
    )
    return format_html(
        '<svg class="bo-chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}">'
        "<title>{}</title>{}</svg>",
        LABEL_W + BAR_W + 50,
        height,
        LABEL_W + BAR_W + 50,
        height,
        title,
        title,
        rows,
    )


# The legend's labels are laid out by their length (11 px text: a character is at most about 6.5 px
# wide), one after the other, on a new line when the next would pass the chart's width: at a fixed
# step a long label ran into the next one.
CHAR_W = 6.5
LEGEND_ROW = 16


def legend_layout(names: list[str], *, left: int, width: int) -> tuple[list[tuple[int, int]], int]:
    """(x, row) of each legend entry, and the number of rows."""
    places, x, row = [], left, 0
    for name in names:
        span = 14 + round(len(name) * CHAR_W)
        if x > left and x + span > width:
            x, row = left, row + 1
        places.append((x, row))
        x += span + 20
    return places, row + 1


def column_chart(
    labels: list[str], series: list[tuple[str, str, list[int]]], *, title: str, every_label: bool = False
) -> SafeString:
    """Grouped columns per day, with a legend."""
    width, height, base, left = 560, 190, 150, 30
    top = max((v for _, _, values in series for v in values), default=0) or 1
    slot = (width - left) / max(1, len(labels))
    bar = max(2, (slot - 6) / max(1, len(series)))
    parts = []
    for i, label in enumerate(labels):
        x0 = left + i * slot + 3
        for j, (name, tone, values) in enumerate(series):
            h = round((base - 10) * values[i] / top)
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" class="bo-bar bo-bar-{}">'
                    "<title>{}: {} on {}</title></rect>",
                    round(x0 + j * bar, 1),
                    base - h,
                    round(bar - 1, 1),
                    h,
                    tone,
                    name,
                    values[i],
                    label,
                )
            )
        if every_label or i % 2 == 0:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" class="bo-chart-axis">{}</text>', round(x0, 1), base + 14, label
                )
            )
    parts.append(format_html('<text x="0" y="12" class="bo-chart-axis">{}</text>', top))
    parts.append(
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" class="bo-chart-baseline"></line>', left, base, width, base
        )
    )
    legend, rows = legend_layout([name for name, _, _ in series], left=left, width=width)
    height += LEGEND_ROW * (rows - 1)
    for (name, tone, _), (x, row) in zip(series, legend, strict=True):
        y = base + 28 + row * LEGEND_ROW
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="10" height="10" class="bo-bar bo-bar-{}"></rect>'
                '<text x="{}" y="{}" class="bo-chart-label">{}</text>',
                x,
                y,
                tone,
                x + 14,
                y + 9,
                name,
            )
        )
    return format_html(
        '<svg class="bo-chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}">'
        "<title>{}</title>{}</svg>",
        width,
        height,
        width,
        height,
        title,
        title,
        SafeString("".join(parts)),
    )
