"""ShareID polling at scale (issue 15, "Performance"): N open ShareID sessions, each to be fetched
about every 5 s, against a fast "not ready" ShareID-shaped server; the real poller
(`manage.py poll_sessions` processes) on a real PostgreSQL.

Prints the polling lag measured at the server (p50/p99 of the interval between two fetches of one
applicant, after a warm-up), the 429s the server answered by ShareID's rule (a second fetch of one
applicant within 5 s), the app's CPU seconds per fetch (the pollers' processes; PostgreSQL's and the
fake server's apart), and, over a ladder of N, the largest N with p99 <= 6 s and what stops it.

The runner is `poll_sessions`, not Celery beat + workers: the same function (poll_tick) either way,
and a dedicated process measures the poller without the broker's share; with it the broker holds no
polling message at all (its queue length is 0 by construction, reported as such).

The server (`--api-url` unset) is a threaded HTTP/1.1 server in this process, answering wire.md's
fetch token and "not ready" (200 {"detail": "applicant not found"}); `--api-url` points the pollers
at another (the sandbox: <app>/sandbox/shareid), whose own control stats then count the 429s.
`--provider standin` (default while providers/shareid/ has no client) fetches through
benchmarks/shareid_standin.py; `--provider app` through providers.shareid.

    python benchmarks/shareid_polling.py --sessions 1000,2000,5000,10000 --seconds 40
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import support

DB = support.DB_PREFIX + "shareid_polling"
RATE_SECONDS = 5.0  # ShareID: one fetch of an applicant per 5 s (real seconds)
TARGET_P99 = 6.0


class FakeShareID:
    """wire.md 3 and 4, "not ready" for every applicant; fetch times kept per applicant."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last: dict[str, float] = {}
        self.intervals: list[tuple[float, float]] = []  # (time, seconds since the previous fetch)
        self.fetches = 0
        self.rate_limited = 0
        self.tokens = 0

    def reset(self) -> None:
        with self.lock:
            self.last.clear()
            self.intervals.clear()
            self.fetches = self.rate_limited = self.tokens = 0

    def serve(self) -> ThreadingHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as ShareID's API

            def log_message(self, *args):  # no line per request
                pass

            def _answer(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if self.path.endswith("/fetch/auth/business"):
                    with fake.lock:
                        fake.tokens += 1
                    return self._answer(200, {"token": "bench-fetch-token"})
                if self.path.endswith("/flow/onboarding/fetch"):
                    applicant, now = body.get("applicant_id", ""), time.monotonic()
                    with fake.lock:
                        fake.fetches += 1
                        previous = fake.last.get(applicant)
                        if previous is not None and now - previous < RATE_SECONDS:
                            fake.rate_limited += 1
                            wait = max(1, round(RATE_SECONDS - (now - previous)))
                            return self._answer(429, {"detail": "too many calls"}, {"Retry-After": str(wait)})
                        fake.last[applicant] = now
                        if previous is not None:
                            fake.intervals.append((now, now - previous))
                    return self._answer(200, {"detail": "applicant not found"})
                return self._answer(404, {"detail": "not found"})

        server = ThreadingHTTPServer(("127.0.0.1", support.free_port()), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


def make_sessions(count: int) -> None:
    """`count` open ShareID sessions, their first fetches spread over one interval."""
    import datetime as dt

    from django.db import connection, transaction
    from django.utils import timezone

    from kyc.models import Customer, VerificationSession

    with transaction.atomic():
        VerificationSession.objects.all().delete()
        Customer.objects.all().delete()
        customer = Customer.objects.create(external_ref="BENCH-POLL")
        now = timezone.now()
        VerificationSession.objects.bulk_create(
            (
                VerificationSession(
                    customer=customer,
                    provider="shareid",
                    provider_session_id=f"ap-bench-{i:06d}",
                    provider_created_at=now,
                    poll_next_at=now + dt.timedelta(seconds=RATE_SECONDS * i / count),
                )
                for i in range(count)
            ),
            batch_size=2000,
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE kyc_verificationsession")


def run_one(args, count: int, fake: FakeShareID, env: dict, procs: support.Processes) -> dict:
    make_sessions(count)
    fake.reset()
    pollers = [
        procs.start(f"poller-{i}", [support.PYTHON, "manage.py", "poll_sessions"], env=env)
        for i in range(args.pollers)
    ]
    # Start-up (Django set up, the first batches) is not measured: from the first fetches on.
    deadline = time.monotonic() + 60
    while fake.fetches < min(count, 50) and time.monotonic() < deadline:
        time.sleep(0.1)
    cpu_start = sum(support.group_cpu_seconds(p.pid) for p in pollers)
    pg_start = support.postgres_cpu_seconds(DB)
    busy_start, fetches_start, t0 = support.machine_busy_seconds(), fake.fetches, time.monotonic()
    time.sleep(args.seconds)
    elapsed = time.monotonic() - t0
    cpu = sum(support.group_cpu_seconds(p.pid) for p in pollers) - cpu_start
    pg = support.postgres_cpu_seconds(DB) - pg_start
    busy = support.machine_busy_seconds() - busy_start
    fetches = fake.fetches - fetches_start
    for proc in pollers:
        procs.stop(proc)
    warm = t0 + args.warmup  # the first interval of every session is past by then
    with fake.lock:
        intervals = [seconds for at, seconds in fake.intervals if at >= warm]
        rate_limited = fake.rate_limited
    return {
        "sessions": count,
        "fetches_per_s": fetches / elapsed,
        "p50": support.percentile(intervals, 50),
        "p99": support.percentile(intervals, 99),
        "intervals": len(intervals),
        "rate_limited": rate_limited,
        "app_cpu_ms_per_fetch": 1000 * cpu / max(fetches, 1),
        "app_cpu_share": cpu / elapsed,
        "pg_cpu_share": pg / elapsed,
        "machine_busy_share": busy / elapsed,
        "tokens": fake.tokens,
    }


def run(args, procs: support.Processes, report: support.Report) -> None:
    fake = FakeShareID()
    api_url = args.api_url or f"http://127.0.0.1:{fake.serve().server_address[1]}"
    env = support.app_env(
        support.create_database(DB),
        broker_url=None,
        KYC_ENABLED_PROVIDERS="veriff,shareid",
        SHAREID_API_URL=api_url,
        SHAREID_BUSINESS_HASH="bench-business",
        SHAREID_API_KEY="bench-key",
        KYC_POLL_THREADS=str(args.threads),
        KYC_POLL_BATCH=str(args.batch),
    )
    if args.provider == "standin":
        env["DJANGO_SETTINGS_MODULE"] = "benchmarks.shareid_settings"
    support.manage(env, "migrate", "--noinput")
    support.use_env_in_process(env)
    results = [run_one(args, count, fake, env, procs) for count in args.sessions]
    best = max(
        (r["sessions"] for r in results if r["p99"] <= TARGET_P99 and not r["rate_limited"]), default=0
    )
    for r in results:
        n = f"N={r['sessions']:,}"
        report.add(f"{n}: interval p50", r["p50"], unit="s")
        report.add(
            f"{n}: interval p99",
            r["p99"],
            target=f"<= {TARGET_P99:.0f} s",
            met=r["p99"] <= TARGET_P99,
            unit="s",
        )
        report.add(f"{n}: 429 answered", r["rate_limited"], target="0", met=r["rate_limited"] == 0)
        report.add(f"{n}: fetches", r["fetches_per_s"], unit="/s")
        report.add(f"{n}: app CPU per fetch", r["app_cpu_ms_per_fetch"], unit="ms")
        report.add(
            f"{n}: CPU busy (app / PostgreSQL / machine)",
            f"{r['app_cpu_share']:.2f} / {r['pg_cpu_share']:.2f} / {r['machine_busy_share']:.2f}",
            unit="cores",
        )
        report.add(f"{n}: broker queue length", 0, unit="(no broker: poll_sessions)")
    report.add("largest N with p99 <= 6 s and no 429", best, target="10,000", met=best >= 10_000)
    report.note(
        f"{args.pollers} poll_sessions process(es), {args.threads} threads, batches of {args.batch}; "
        f"{args.seconds:.0f} s per N, intervals counted after {args.warmup:.0f} s; "
        f"provider: {args.provider}; "
        f"server: {'the in-process fake' if not args.api_url else args.api_url}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sessions", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 2000, 5000, 10000]
    )
    parser.add_argument("--seconds", type=float, default=40.0, help="measured seconds per N")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of each run not counted")
    parser.add_argument("--pollers", type=int, default=2, help="poll_sessions processes")
    parser.add_argument("--threads", type=int, default=16, help="KYC_POLL_THREADS")
    parser.add_argument("--batch", type=int, default=200, help="KYC_POLL_BATCH")
    parser.add_argument("--provider", choices=("standin", "app"), default="standin")
    parser.add_argument("--api-url", default="", help="a ShareID API to poll instead of the in-process fake")
    parser.add_argument("--time-limit", type=float, default=1800.0)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--json", help="save the figures as JSON here")
    args = parser.parse_args()
    report = support.Report("ShareID polling: lag, 429s, CPU per fetch")
    return support.run_with_processes(run, args, report, database=DB, what="the polling benchmark")


if __name__ == "__main__":
    sys.exit(main())
