"""Decision latency, CPU per decision: what benchmark 2's latency is made of, measured in a way that
other load on the machine hardly moves.

    make bench-decision-cpu                 # or: .venv/bin/python benchmarks/decision_cpu.py
    .venv/bin/python benchmarks/decision_cpu.py --show-sql      # also list one decision's SQL

At 20 decisions a second on 2 cores, everything a decision costs (the worker, the database, the
sandbox standing in for Veriff) must stay well under 100 ms of CPU, or work queues up and the
latency grows without bound (benchmarks/decision_latency.py). This script stores N signed decision
webhooks of decided sandbox sessions, then processes them one after the other in this process,
exactly as the worker's task does (apply the decision, list the media at the sandbox over HTTP,
download and store the four files), and reports, per decision: the CPU time of this process
(threads included), of its PostgreSQL backend, and of the sandbox's server (its gunicorn and
database backends), best of several rounds; and the SQL statements and HTTP requests it made.
Celery's own cost per task is not in these figures (benchmark 2 has it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import support

DB = support.DB_PREFIX + "decision_cpu"


def backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def pid_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_one(event_id: int) -> None:
    """The worker's task body for one event (webhooks/tasks.py, without Celery around it)."""
    from webhooks import processing

    with processing.event_processor().processing():
        processing.inbound_event_process(event_id=event_id)


def store_webhooks(webhooks) -> list[int]:
    """The recorded decision webhooks, received as the app's webhook view receives them."""
    from providers.registry import get_provider
    from webhooks import services

    provider = get_provider("veriff")
    ids = []
    for body, headers in webhooks:
        receipt = services.inbound_event_receive(
            provider=provider, kind="decision", headers=headers, body=body, remote_addr="127.0.0.1"
        )
        ids.append(receipt.event_id)
    return ids


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--decisions", type=int, default=100, help="decisions per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best is kept")
    parser.add_argument("--sandbox-workers", type=int, default=2, help="the sandbox's gunicorn workers")
    parser.add_argument(
        "--sandbox-threads",
        type=int,
        default=4,
        help="threads per sandbox worker (gunicorn gthread: keep-alive, as Veriff's API); 0: sync workers",
    )
    parser.add_argument("--show-sql", action="store_true", help="print one decision's SQL statements")
    parser.add_argument("--profile", help="write a cProfile of the timed rounds to this file")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--time-limit", type=int, default=900)
    args = parser.parse_args()
    report = support.Report(f"Decision latency, CPU per decision ({args.decisions} a round, in process)")
    return support.run_with_processes(run, args, report, database=DB, what="decision CPU benchmark")


def run(args, procs: support.Processes, report: support.Report) -> None:
    from benchmarks import decision_latency

    total = args.decisions * (args.rounds + 1) + 1
    db_url = support.create_database(DB)
    support.flush_broker()
    sandbox_port = support.free_port()
    env = support.app_env(
        db_url,
        VERIFF_API_URL=f"http://127.0.0.1:{sandbox_port}/sandbox/veriff/v1",
        VERIFF_API_KEY=decision_latency.SANDBOX_API_KEY,
        VERIFF_API_SECRET=decision_latency.SANDBOX_API_SECRET,
    )
    support.manage(env, "migrate", "--noinput")
    support.use_env_in_process(env)
    webhooks = decision_latency.prepare(total)
    event_ids = store_webhooks(webhooks)
    time.sleep(0.2)
    support.flush_broker()  # the ids the receiving queued: processed here instead

    threaded = support.gthread(args.sandbox_threads)
    sandbox_cmd = support.gunicorn_cmd(sandbox_port, workers=args.sandbox_workers, extra=threaded)
    sandbox = procs.start("sandbox-decision-cpu", sandbox_cmd, env=env)
    support.wait_http(f"http://127.0.0.1:{sandbox_port}/healthz", sandbox)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    per_round = args.decisions
    with CaptureQueriesContext(connection) as queries:  # warm-up: imports, connections, caches
        for event_id in event_ids[:per_round]:
            process_one(event_id)
    statements = len(queries) / per_round
    with CaptureQueriesContext(connection) as queries:
        process_one(event_ids[per_round])
    one = list(queries)

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    ours = backend_pid()

    def cpu_seconds() -> dict[str, float]:
        return {
            "worker": time.process_time(),
            "database": pid_cpu_seconds(ours),
            "sandbox": support.group_cpu_seconds(sandbox.pid),
            "backends": support.postgres_cpu_seconds(DB),  # ours and the sandbox's
            "machine": support.machine_busy_seconds(),
        }

    best = None
    for number in range(args.rounds):
        batch = event_ids[(number + 1) * per_round + 1 : (number + 2) * per_round + 1]
        before = cpu_seconds()
        if profiler:
            profiler.enable()
        for event_id in batch:
            process_one(event_id)
        if profiler:
            profiler.disable()
        ms = {name: 1000 * (value - before[name]) / len(batch) for name, value in cpu_seconds().items()}
        figures = {
            "worker_ms": ms["worker"],
            "database_ms": ms["database"],
            # The sandbox's server, and its database backends: every backend of the database but ours.
            "sandbox_ms": ms["sandbox"] + ms["backends"] - ms["database"],
        }
        # The whole machine: the above, and what no process of the decision's shows (the database's
        # WAL writer, the kernel's work for other processes); others' load too, if there is any.
        if best is None or sum(figures.values()) < sum(best[0].values()):
            best = (figures, ms["machine"])
    best, machine_ms = best
    if profiler:
        profiler.dump_stats(args.profile)

    from kyc.models import Media, VerificationSession

    complete = VerificationSession.objects.filter(status="approved").count()
    stored = Media.objects.filter(state=Media.State.STORED).count()
    processed = per_round * (args.rounds + 1) + 1
    report.add(
        "decisions applied / files stored",
        f"{complete} / {stored}",
        target=f"{processed} / {4 * processed}",
        met=complete == processed and stored == 4 * processed,
    )
    report.add("SQL statements per decision (this process)", statements)
    report.add("worker: Python process, CPU per decision", best["worker_ms"], unit="ms")
    report.add("worker: its PostgreSQL backend, CPU per decision", best["database_ms"], unit="ms")
    report.add(
        "sandbox (the provider): server and its database, CPU per decision", best["sandbox_ms"], unit="ms"
    )
    report.add("all, CPU per decision", sum(best.values()), unit="ms", target="< 75 ms on 2 cores at 20/s")
    report.add("the whole machine, CPU per decision (same round)", machine_ms, unit="ms")
    report.note(
        f"in process, no Celery; the sandbox on gunicorn -w {args.sandbox_workers} "
        + (f"--threads {args.sandbox_threads} (gthread); " if args.sandbox_threads else "(sync); ")
        + f"best of {args.rounds} rounds"
    )
    if args.show_sql:
        print(f"-- one decision's {len(one)} SQL statements")
        for query in one:
            print(query["sql"][:300])


if __name__ == "__main__":
    sys.exit(main())
