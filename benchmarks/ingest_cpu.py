"""Webhook ingest, CPU per delivery: what benchmark 1's throughput ratio is made of, measured in a way
that other load on the machine hardly moves.

    make bench-ingest-cpu                   # or: .venv/bin/python benchmarks/ingest_cpu.py

On a shared 2-core machine the requests/s of benchmarks/webhook_ingest.py move by 3x with other
work; CPU time spent per request moves much less. This script calls each WSGI application in
process (no HTTP server, no load generator) for N signed deliveries: the app's
`config.wsgi.application` (its webhook handler, the insert, the batched queueing thread, on
PostgreSQL and Redis) with Veriff decision webhooks and, in a process of its own, with Solaris
IDENTIFICATION notifications (signed with a stored subscription's secret, which the app looks up
and unseals for each delivery), and the reference app (a bare signed insert, outside the
repository: benchmarks/README.md). It reports, per delivery, the CPU time of the Python process
(threads included, from `time.process_time`) and of its PostgreSQL backend (from /proc, so the
database must run on this machine), best of several alternating rounds. gunicorn's HTTP parsing
and the load generator are not in these figures: they cost both servers the same, which is why
benchmark 1's ratio is closer to 1 than this one.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import support

APP_DB = support.DB_PREFIX + "ingest_cpu"
BASELINE_DB = support.DB_PREFIX + "ingest_cpu_baseline"
DEFAULT_BASELINE = support.ROOT.parent / "shared" / "bench" / "baseline_app.py"


def wsgi_post(application, path: str, query: str, body: bytes, headers: dict[str, str]) -> None:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    status = []
    b"".join(application(environ, lambda s, h, e=None: status.append(s)))
    if not status[0].startswith("200"):
        raise RuntimeError(f"{path}: {status[0]}")


def backend_cpu_seconds() -> tuple[int, float]:
    """This process's PostgreSQL backend, and its CPU time so far (user + system)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return pid, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(call, requests: list, rounds: int) -> dict[str, float]:
    """Best round's CPU per call, in microseconds: this process, and its database backend."""
    per_round = len(requests) // (rounds + 1)
    for item in requests[:per_round]:  # warm-up: imports, connections, caches
        call(*item)
    best = {"python_us": float("inf"), "database_us": float("inf")}
    for number in range(1, rounds + 1):
        batch = requests[number * per_round : (number + 1) * per_round]
        (backend, database), cpu = backend_cpu_seconds(), time.process_time()
        for item in batch:
            call(*item)
        python_us = 1e6 * (time.process_time() - cpu) / len(batch)
        backend_after, database_after = backend_cpu_seconds()
        if backend_after != backend:
            # The connection was replaced during the round (the database restarted, or another
            # benchmark dropped it): the two readings are of different backends.
            print(f"round {number}: the database connection changed; not counted", file=sys.stderr)
            continue
        database_us = 1e6 * (database_after - database) / len(batch)
        if python_us + database_us < best["python_us"] + best["database_us"]:
            best = {"python_us": python_us, "database_us": database_us}
    return best


def app_in_process() -> None:
    env = support.app_env(support.database_url(APP_DB), port=8000)
    support.use_env_in_process(env)


def app_result(application, requests: list, args) -> dict[str, float]:
    result = measure(lambda *r: wsgi_post(application, *r), requests, args.rounds)
    time.sleep(0.5)  # the queueing thread's last batch
    from webhooks.models import InboundEvent

    stored = InboundEvent.objects.filter(authenticated=True).count()
    queued = len(set(support.broker_queued_event_ids()))
    result.update(stored=stored, queued=queued, sent=len(requests))
    return result


def child_app(args) -> dict[str, float]:
    from benchmarks import webhook_ingest

    app_in_process()
    from django.conf import settings

    from config.wsgi import application
    from providers.veriff import signing

    sessions = webhook_ingest.make_sessions(200)
    requests = []
    for n in range(args.requests * (args.rounds + 1)):
        session_id, reference = sessions[n % len(sessions)]
        body = webhook_ingest.decision_body(session_id, reference, n)
        headers = {
            "X-AUTH-CLIENT": settings.KYC_PROVIDERS["veriff"][1]["api_key"],
            "X-HMAC-SIGNATURE": signing.signature(
                body, settings.KYC_PROVIDERS["veriff"][1]["api_secret"], signing.HMAC
            ),
        }
        requests.append((webhook_ingest.WEBHOOK_PATH, "", body, headers))
    return app_result(application, requests, args)


def child_solaris(args) -> dict[str, float]:
    from benchmarks import webhook_ingest

    app_in_process()
    from config.wsgi import application

    identifications = webhook_ingest.solaris_identifications(200)
    subscription_id, secret = webhook_ingest.solaris_subscription()
    requests = []
    for n in range(args.requests * (args.rounds + 1)):
        identification_id, person_id = identifications[n % len(identifications)]
        body, headers = webhook_ingest.solaris_delivery(
            identification_id, person_id, n, subscription_id, secret
        )
        requests.append((webhook_ingest.SOLARIS_PATH, "", body, headers))
    return app_result(application, requests, args)


def child_reference(args) -> dict[str, float]:
    baseline = Path(args.baseline)
    os.environ["BASELINE_DB"] = BASELINE_DB
    sys.path.insert(0, str(baseline.parent))
    import baseline_app

    requests = []
    for n in range(args.requests * (args.rounds + 1)):
        body = json.dumps({"status": "success", "verification": {"id": str(n), "pad": "x" * 900}}).encode()
        signature = hashlib.sha256(body + baseline_app.SECRET).hexdigest()
        requests.append(("/ingest", f"n={n}", body, {"X-SIGNATURE": signature, "X-AUTH-CLIENT": "k"}))
    return measure(lambda *r: wsgi_post(baseline_app.application, *r), requests, args.rounds)


CHILDREN = {"app": child_app, "solaris": child_solaris, "reference": child_reference}


def run_child(kind: str, args) -> dict[str, float]:
    cmd = [support.PYTHON, __file__, "--child", kind, "--requests", str(args.requests)]
    cmd += ["--rounds", str(args.rounds), "--baseline", args.baseline]
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, timeout=args.time_limit)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="deliveries per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per process; the best is kept")
    parser.add_argument(
        "--pairs", type=int, default=2, help="processes per kind (Veriff, Solaris, reference), alternating"
    )
    parser.add_argument("--baseline", default=str(DEFAULT_BASELINE), help="path to baseline_app.py")
    parser.add_argument("--child", choices=list(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--time-limit", type=int, default=900)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args)))
        return 0

    report = support.Report(f"Webhook ingest, CPU per delivery ({args.requests} a round)")
    best: dict[str, dict] = {}
    with support.time_limit(args.time_limit, "ingest CPU benchmark"):
        try:
            for _ in range(args.pairs):
                for kind in CHILDREN:
                    support.create_database(APP_DB)
                    support.drop_database(BASELINE_DB)
                    support.flush_broker()
                    if kind != "reference":
                        env = support.app_env(support.database_url(APP_DB))
                        support.manage(env, "migrate", "--noinput")
                    result = run_child(kind, args)
                    total = result["python_us"] + result["database_us"]
                    if kind not in best or total < best[kind]["python_us"] + best[kind]["database_us"]:
                        best[kind] = result
        finally:
            support.flush_broker()
            support.drop_database(APP_DB)
            support.drop_database(BASELINE_DB)
    base = best["reference"]
    base_total = base["python_us"] + base["database_us"]
    report.add("reference: Python process, CPU per delivery", base["python_us"], unit="us")
    report.add("reference: PostgreSQL backend, CPU per delivery", base["database_us"], unit="us")
    # Veriff's deliveries and Solaris's side by side, each against the same reference, in one run.
    for kind, label in (("app", "app, Veriff"), ("solaris", "app, Solaris")):
        figures = best[kind]
        report.add(f"{label}: Python process, CPU per delivery", figures["python_us"], unit="us")
        report.add(f"{label}: PostgreSQL backend, CPU per delivery", figures["database_us"], unit="us")
        total = figures["python_us"] + figures["database_us"]
        report.add(f"reference / {label}, CPU per delivery", f"{base_total / total:.0%}")
        report.add(
            f"{label}: events stored / queued / sent",
            f"{figures['stored']:,} / {figures['queued']:,} / {figures['sent']:,}",
            met=figures["stored"] == figures["queued"] == figures["sent"],
            target="all equal",
        )
    report.note(
        "in process, no HTTP server and no load generator (their cost is the same for both); "
        f"best of {args.rounds} rounds in each of {args.pairs} alternating processes per kind "
        "(Veriff, Solaris, reference)"
    )
    report.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
