"""Benchmark 3, the back-office at scale: generate customers, sessions and media rows on
PostgreSQL (manage.py generate_scale_data), then time the staff pages on the server and count
their SQL queries.

    make bench-backoffice                   # 10,000 customers / 20,000 sessions / 100,000 media
    .venv/bin/python benchmarks/backoffice.py --full            # 100,000 / 200,000 / 1,000,000
    .venv/bin/python benchmarks/backoffice.py --full --reuse    # measure again, data kept

Each page is requested in-process through Django's full stack (middleware, admin, templates) as a
logged-in superuser, with production settings (DEBUG off); the time is the server's time for the
request, the query count is every SQL statement it ran. Every page is requested for several
different objects or search terms, and its query count must not depend on which: that is
"constant". Targets (issue 6): every page under 150 ms p50 and 300 ms p95; search by name, email,
external reference or provider session id under 300 ms, with indexes PostgreSQL uses for it.

The pages are a list of URL builders (PAGES below): the review queue and case page (staff login),
the records' admin pages, and the API list endpoints, which are requested with an API key created
in the benchmark database (scopes read and staff), as a server-to-server client would.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import support

DB = support.DB_PREFIX + "backoffice"
FULL = {"customers": 100_000, "sessions": 200_000, "media": 1_000_000}
QUEUE_STATUSES = "review,declined,resubmission_requested"
KEY_LAST_USED = 'UPDATE "api_apikey" SET "last_used_at"'


@dataclass
class Page:
    name: str
    url: Callable[[Samples, int], str]  # (samples, i) -> the i-th URL to request
    search: bool = False  # a search page: the search target applies too
    api: bool = False  # an API endpoint: requested with the benchmark's API key, not the login


class Samples:
    """Real objects and search terms from the generated data, picked evenly across the tables."""

    def __init__(self, count: int):
        from kyc.models import Customer, VerificationSession

        total = Customer.objects.count()
        step = max(1, total // count)
        picks = list(
            Customer.objects.order_by("pk").values("pk", "first_name", "last_name", "email", "external_ref")[
                ::step
            ][:count]
        )
        self.customers = picks
        sessions = VerificationSession.objects.order_by("pk")
        stotal = sessions.count()
        sstep = max(1, stotal // count)
        self.sessions = list(
            sessions.values("pk", "provider_session_id", "customer__last_name")[::sstep][:count]
        )
        # Cases of every shape: the case page must cost the same queries for 1 or 12 media.
        self.count = min(len(self.customers), len(self.sessions))

    def customer(self, i):
        return self.customers[i % self.count]

    def session(self, i):
        return self.sessions[i % self.count]


def admin(path: str, **query) -> str:
    return f"/admin/{path}" + (f"?{urlencode(query)}" if query else "")


def api(path: str, **query) -> str:
    return f"/api/v1/{path}" + (f"?{urlencode(query)}" if query else "")


PAGES = [
    # --- the review queue (issue 3): the stored queue, oldest first, 50 a page ---
    Page("review queue", lambda s, i: admin("kyc/case/", p=1 + i % 3)),
    Page(
        "review queue filtered (declined) + searched by last name",
        lambda s, i: admin("kyc/case/", status__exact="declined", q=s.session(i)["customer__last_name"]),
        search=True,
    ),
    Page(
        "review queue searched: provider session id",
        lambda s, i: admin("kyc/case/", q=s.session(i)["provider_session_id"]),
        search=True,
    ),
    # --- the case page (issue 3): any session, queued or not ---
    Page("case page", lambda s, i: admin(f"kyc/case/{s.session(i)['pk']}/change/")),
    # --- the records ---
    Page(
        "sessions search: provider session id",
        lambda s, i: admin("kyc/verificationsession/", q=s.session(i)["provider_session_id"]),
        search=True,
    ),
    Page("sessions list (all)", lambda s, i: admin("kyc/verificationsession/", p=1 + i % 5)),
    Page("customers list", lambda s, i: admin("kyc/customer/", p=1 + i % 5)),
    Page(
        "customers filtered by KYC status", lambda s, i: admin("kyc/customer/", kyc_status__exact="in_review")
    ),
    Page(
        "customers search: name",
        lambda s, i: admin("kyc/customer/", q=s.customer(i)["last_name"]),
        search=True,
    ),
    Page(
        "customers search: email", lambda s, i: admin("kyc/customer/", q=s.customer(i)["email"]), search=True
    ),
    Page(
        "customers search: external ref",
        lambda s, i: admin("kyc/customer/", q=s.customer(i)["external_ref"]),
        search=True,
    ),
    Page("customer page", lambda s, i: admin(f"kyc/customer/{s.customer(i)['pk']}/change/")),
    # --- API list endpoints (issue 4), with an API key (scopes read + staff), 100 a page ---
    Page("API: customers list", lambda s, i: api("customers/", limit=100), api=True),
    Page(
        "API: customers by KYC status",
        lambda s, i: api("customers/", kyc_status="in_review", limit=100),
        api=True,
    ),
    Page("API: verifications list", lambda s, i: api("verifications/", limit=100), api=True),
    Page(
        "API: verifications by customer ref",
        lambda s, i: api("verifications/", external_ref=s.customer(i)["external_ref"]),
        api=True,
    ),
    Page("API: staff review queue", lambda s, i: api("staff/review-queue/", limit=100), api=True),
    Page(
        "API: staff review queue (declined)",
        lambda s, i: api("staff/review-queue/", status="declined", limit=100),
        api=True,
    ),
    Page("API: staff cases", lambda s, i: api("staff/cases/", limit=100), api=True),
]


def resolves(url: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(url.split("?", 1)[0])
        return True
    except Resolver404:
        return False


def measure(client, page: Page, samples: Samples, count: int, headers: dict) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, queries = [], []
    for i in range(-2, count):  # two warm-up requests
        url = page.url(samples, max(i, 0))
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, headers=headers if page.api else {})
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{page.name}: {url} answered {response.status_code}")
        if i >= 0:
            times.append(elapsed)
            # An API key's last use is written at most once a minute (api.services): a query that
            # depends on the clock, not on the page or the object, so it is not counted.
            queries.append(sum(1 for q in captured if not q["sql"].startswith(KEY_LAST_USED)))
    return {"times": times, "queries": queries}


def explain_search() -> list[str]:
    """Which index each search uses: the plan's index scans, for the record."""
    from django.db import connection

    from kyc.models import Customer, VerificationSession

    notes = []
    customer = Customer.objects.order_by("pk").values("last_name", "email", "external_ref")[0]
    probes = {
        "customer name": Customer.objects.filter(last_name__icontains=customer["last_name"]),
        "customer email": Customer.objects.filter(email__icontains=customer["email"]),
        "customer external ref": Customer.objects.filter(external_ref__icontains=customer["external_ref"]),
        "provider session id": VerificationSession.objects.filter(
            provider_session_id__icontains=VerificationSession.objects.values_list(
                "provider_session_id", flat=True
            )[0]
        ),
    }
    for name, qs in probes.items():
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql, params)
            plan = [row[0] for row in cursor.fetchall()]
        indexes = sorted(
            {line.split(" on ")[1].split()[0] for line in plan if "Index" in line and " on " in line}
        )
        notes.append(f"{name}: {', '.join(indexes) if indexes else 'NO INDEX: ' + plan[0].strip()}")
    return notes


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="the issue's sizes: 100k / 200k / 1M")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--media", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=20, help="requests per page")
    parser.add_argument("--reuse", action="store_true", help="reuse the data of an earlier --keep run")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--time-limit", type=int, default=1800)
    args = parser.parse_args()
    sizes = (
        FULL if args.full else {"customers": args.customers, "sessions": args.sessions, "media": args.media}
    )
    report = support.Report(
        f"Back-office at scale ({sizes['customers']:,} customers, {sizes['sessions']:,} sessions, "
        f"{sizes['media']:,} media)"
    )
    with support.time_limit(args.time_limit, "back-office benchmark"):
        try:
            run(args, sizes, report)
        finally:
            if not args.keep:
                from django.db import connections

                connections.close_all()
                support.drop_database(DB)
    report.print()
    report.save(args.json)
    return 0


def run(args, sizes: dict[str, int], report: support.Report) -> None:
    db_url = support.database_url(DB)
    env = support.app_env(db_url)
    fresh = not (args.reuse and support.database_exists(DB))
    if fresh:
        support.create_database(DB)
    support.manage(env, "migrate", "--noinput")
    if fresh:
        started = time.monotonic()
        subprocess.run(
            [support.PYTHON, "manage.py", "generate_scale_data", *[f"--{k}={v}" for k, v in sizes.items()]],
            cwd=support.ROOT,
            env=env,
            check=True,
        )
        report.add("data generation (generate_scale_data)", time.monotonic() - started, unit="s")
    support.use_env_in_process(env)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    # Signed in with the second factor too (required with DEBUG off): what django_otp.login does.
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device, _ = TOTPDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    from api.services import api_key_create

    # A server-to-server client's key, created in the benchmark database like any other.
    _, raw_key = api_key_create(name="backoffice benchmark", scopes=["read", "staff"])
    api_headers = {"authorization": f"Api-Key {raw_key}"}
    samples = Samples(args.samples)
    missing = []
    for page in PAGES:
        if not resolves(page.url(samples, 0)):
            missing.append(page.name)
            continue
        result = measure(client, page, samples, args.samples, api_headers)
        p50, p95 = support.percentile(result["times"], 50), support.percentile(result["times"], 95)
        low, high = min(result["queries"]), max(result["queries"])
        target = 300 if page.search else 150
        constant = low == high
        met = p50 < 150 and p95 < 300 and constant
        report.add(
            page.name,
            f"{p50:.0f} / {p95:.0f} ms, {low if constant else f'{low}-{high}'} queries",
            target=f"p50 < 150, p95 < 300{', search < 300' if page.search else ''}; constant queries",
            met=met and (not page.search or p95 < target),
        )
        print(f"{page.name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms, queries {low}-{high}", flush=True)
    for note in explain_search():
        report.note("index used by " + note)
    if missing:
        report.note("not built yet, not measured: " + "; ".join(missing))
    report.note(f"{args.samples} requests per page, each for another object or search term, in-process")


if __name__ == "__main__":
    sys.exit(main())
