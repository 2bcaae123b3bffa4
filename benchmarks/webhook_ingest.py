"""Benchmark 1, webhook ingest: the app under gunicorn on PostgreSQL with a real broker (Redis),
wrk on loopback posting signed Veriff decision webhooks for existing sessions, then signed Solaris
IDENTIFICATION notifications (a stored subscription's secret) for existing identifications; in the
same rounds the same load against the reference minimal app (outside the repository:
benchmarks/README.md). Solaris's deliveries have Veriff's targets.

    make bench-ingest                       # or: .venv/bin/python benchmarks/webhook_ingest.py
    .venv/bin/python benchmarks/webhook_ingest.py --duration 30 --connections 32 --workers 4

Both servers run as `gunicorn --preload -w <workers> -b 127.0.0.1:<port>` (sync workers, the
reference app's documented command), one after the other, with the same wrk settings
(`-t2 -c32`); each gets a warm-up run that is then wiped. No Celery worker runs during the load (it
would take CPU from the server on a 2-core machine): every stored event must have its processing
task waiting in the broker afterwards. Targets (issue 6): the app's throughput at least 60% of the
reference's, p99 under 50 ms at 32 connections, zero errors, every event stored.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import support

APP_DB = support.DB_PREFIX + "ingest"
BASELINE_DB = support.DB_PREFIX + "ingest_baseline"
WEBHOOK_PATH = "/webhooks/veriff/decision/"
SOLARIS_PATH = "/webhooks/solaris/"
HERE = Path(__file__).resolve().parent
DEFAULT_BASELINE = support.ROOT.parent / "shared" / "bench" / "baseline_app.py"


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/s, completed requests, p50/p99 (ms), non-2xx and socket errors from `wrk --latency`."""
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def latency(pct: str) -> float:
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        return float(match.group(1)) * units[match.group(2)] if match else float("nan")

    errors = 0
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket:
        errors += sum(int(g) for g in socket.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "p50": latency("50"),
        "p99": latency("99"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors,
    }


def run_wrk(url: str, script: Path, args: list[str], *, threads: int, connections: int, seconds: int):
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    if args:
        cmd += ["--", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    return parse_wrk(out), out


def make_sessions(count: int) -> list[tuple[str, str]]:
    """`count` customers with a session the provider has created: (provider session id, reference)."""
    from kyc.models import Customer, VerificationSession

    customers = Customer.objects.bulk_create(
        [
            Customer(external_ref=f"BENCH-{i:06d}", first_name="Bench", last_name=f"Person{i}")
            for i in range(count)
        ]
    )
    sessions = VerificationSession.objects.bulk_create(
        [
            VerificationSession(customer=c, provider="veriff", provider_session_id=str(uuid.uuid4()))
            for c in customers
        ]
    )
    return [(s.provider_session_id, str(s.reference)) for s in sessions]


def decision_body(session_id: str, reference: str, n: int) -> bytes:
    """A decision webhook as Veriff sends it (compact JSON, the seed's fields), unique per `n`."""
    from providers.veriff.sandbox.auth import compact_json

    second, milli = divmod(n, 1000)
    stamp = f"2025-01-01T{second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d}.{milli:03d}Z"
    return compact_json(
        {
            "status": "success",
            "verification": {
                "id": session_id,
                "attemptId": str(uuid.UUID(int=n + 1)),
                "code": 9001,
                "person": {
                    "gender": None,
                    "idNumber": None,
                    "lastName": "MORGAN",
                    "firstName": "SARAH",
                    "citizenship": None,
                    "dateOfBirth": "1967-03-30",
                    "nationality": "EE",
                    "yearOfBirth": None,
                    "pepSanctionMatch": None,
                },
                "reason": None,
                "status": "approved",
                "comments": [],
                "document": {
                    "type": "PASSPORT",
                    "number": f"SBX{n:06d}",
                    "country": "EE",
                    "validFrom": "2023-01-01",
                    "validUntil": "2033-01-01",
                },
                "reasonCode": None,
                "vendorData": reference,
                "endUserId": None,
                "decisionTime": stamp,
                "acceptanceTime": "2025-01-01T00:00:00.000Z",
                "additionalVerifiedData": {},
            },
            "technicalData": {"ip": "192.0.2.10"},
        }
    )


def solaris_identifications(count: int) -> list[tuple[str, str]]:
    """`count` customers with an identification at Solaris: (identification id, person id)."""
    from kyc.models import Customer, VerificationSession

    customers = Customer.objects.bulk_create(
        [
            Customer(external_ref=f"BENCH-S-{i:06d}", first_name="Bench", last_name=f"Person{i}")
            for i in range(count)
        ]
    )
    VerificationSession.objects.bulk_create(
        [
            VerificationSession(customer=c, provider="solaris", provider_session_id=f"{i:032x}cidt")
            for i, c in enumerate(customers)
        ]
    )
    return [(f"{i:032x}cidt", f"{i:032x}cper") for i in range(count)]


def solaris_subscription() -> tuple[str, str]:
    """An IDENTIFICATION subscription stored as `solaris_webhooks sync` stores one (its secret
    sealed): (subscription id, secret)."""
    import secrets

    from django.conf import settings

    from providers.solaris.sealing import SecretSeal
    from providers.solaris.subscriptions import subscription_store

    created = {
        "id": secrets.token_hex(16),
        "event_type": "IDENTIFICATION",
        "url": settings.KYC_PUBLIC_URL + SOLARIS_PATH,
        "secret": secrets.token_hex(16),
    }
    seal = SecretSeal(settings.KYC_PROVIDERS["solaris"][1]["webhook_secret_keys"])
    subscription_store(created=created, seal=seal)
    return created["id"], created["secret"]


def solaris_body(identification_id: str, person_id: str, n: int) -> bytes:
    """An IDENTIFICATION notification as Solaris sends it (the seed's fields and the public mock's
    `person_id`), compact JSON."""
    second = n % 86400
    stamp = f"2025-01-01T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.000Z"
    return json.dumps(
        {
            "id": identification_id,
            "reference": f"BENCH-{n}",
            "url": f"https://go.test.idnow.de/kycdesk/identifications/{identification_id}",
            "status": "successful",
            "completed_at": stamp,
            "method": "idnow",
            "person_id": person_id,
        },
        separators=(",", ":"),
    ).encode()


def solaris_delivery(
    identification_id: str, person_id: str, n: int, subscription_id: str, secret: str
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one IDENTIFICATION delivery, signed per the protocol
    (providers/solaris/README.md, "Webhooks"); its Solaris-Webhook-Id, the dedupe key, unique per `n`."""
    from providers.solaris import signing

    body = solaris_body(identification_id, person_id, n)
    return body, {
        "Solaris-Webhook-Id": str(uuid.UUID(int=n + 1)),
        "Solaris-Webhook-Subscription-Id": subscription_id,
        "Solaris-Webhook-Event-Type": "IDENTIFICATION",
        "Solaris-Entity-Id": identification_id,
        "Solaris-Webhook-Attempt": "1",
        "Solaris-Webhook-Signature": signing.signature(body, secret),
    }


def write_request_files(prefix: Path, sessions, *, per_thread: int, threads: int, start: int) -> None:
    from django.conf import settings

    from providers.veriff import signing

    n = start
    for thread in range(1, threads + 1):
        with open(f"{prefix}.{thread}", "wb") as out:
            for _ in range(per_thread):
                session_id, reference = sessions[n % len(sessions)]
                body = decision_body(session_id, reference, n)
                sig = signing.signature(body, settings.KYC_PROVIDERS["veriff"][1]["api_secret"], signing.HMAC)
                out.write(sig.encode() + b" " + body + b"\n")
                n += 1


def write_solaris_request_files(
    prefix: Path, identifications, subscription: tuple[str, str], *, per_thread: int, threads: int, start: int
) -> None:
    """Like write_request_files, for benchmarks/solaris_identification.lua."""
    subscription_id, secret = subscription
    n = start
    for thread in range(1, threads + 1):
        with open(f"{prefix}.{thread}", "wb") as out:
            for _ in range(per_thread):
                identification, person = identifications[n % len(identifications)]
                body, headers = solaris_delivery(identification, person, n, subscription_id, secret)
                fields = [headers[name] for name in ("Solaris-Webhook-Signature", "Solaris-Webhook-Id")]
                out.write(" ".join([*fields, identification]).encode() + b" " + body + b"\n")
                n += 1


def truncate(db: str, table: str) -> None:
    import psycopg

    with psycopg.connect(support.database_url(db), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {table}")


def count_rows(db: str, sql: str) -> int:
    import psycopg

    with psycopg.connect(support.database_url(db), autocommit=True) as conn:
        return int(conn.execute(sql).fetchone()[0])


def settle(db: str, sql: str, *, quiet: float = 1.0, limit: float = 30.0) -> None:
    """Wait until the count `sql` returns has not moved for `quiet` seconds (at most `limit`)."""
    deadline = time.monotonic() + limit
    last = count_rows(db, sql)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = count_rows(db, sql)
        if now == last:
            return
        last = now


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of measured load per server")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up load per server")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers, both servers")
    parser.add_argument("--rounds", type=int, default=3, help="back-to-back rounds; the median is reported")
    parser.add_argument("--sessions", type=int, default=1000, help="existing sessions the webhooks are about")
    parser.add_argument(
        "--max-rate", type=int, default=5000, help="requests/s to prepare distinct bodies for"
    )
    parser.add_argument("--baseline", default=str(DEFAULT_BASELINE), help="path to baseline_app.py")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="also measure, in the same rounds, the app with this environment variable set (a "
        "setting config/settings.py reads from the environment); repeatable",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--time-limit", type=int, default=600)
    args = parser.parse_args()
    support.require("wrk", "apt-get install -y wrk")
    baseline = Path(args.baseline)
    if not args.skip_baseline and not baseline.exists():
        sys.exit(f"reference app not found at {baseline} (use --baseline PATH or --skip-baseline)")

    report = support.Report(f"Webhook ingest ({args.connections} connections, {args.duration}s)")
    with support.time_limit(args.time_limit, "webhook ingest benchmark"), support.Processes() as procs:
        try:
            results = run(args, baseline, procs, report)
        finally:
            procs.close()
            support.flush_broker()
            if not args.keep:
                support.drop_database(APP_DB)
                support.drop_database(BASELINE_DB)
    report.print()
    report.save(args.json)
    return 0 if results else 1


def run(args, baseline: Path, procs: support.Processes, report: support.Report) -> bool:
    db_url = support.create_database(APP_DB)
    support.flush_broker()
    port = support.free_port()
    env = support.app_env(db_url, port=port)
    support.manage(env, "migrate", "--noinput")
    support.use_env_in_process(env)
    from django.conf import settings

    sessions = make_sessions(args.sessions)
    data = support.VAR / "ingest"
    data.mkdir(parents=True, exist_ok=True)
    per_thread = args.max_rate * (args.duration + 2) // args.threads
    warm_per_thread = args.max_rate * (args.warmup + 2) // args.threads
    wrk = {"threads": args.threads, "connections": args.connections}
    write_request_files(data / "warm", sessions, per_thread=warm_per_thread, threads=args.threads, start=0)

    # Both servers stay up, idle in turn, so that each round measures them back to back: other
    # load on the machine then weighs on both alike.
    servers = {}
    if not args.skip_baseline:
        support.drop_database(BASELINE_DB)
        base_port = support.free_port()
        base_env = {k: v for k, v in support.app_env(db_url).items() if not k.startswith("DJANGO_")}
        base_env.update(BASELINE_DB=BASELINE_DB, PYTHONPATH=str(baseline.parent))
        proc = procs.start(
            "baseline",
            support.gunicorn_cmd(base_port, workers=args.workers, app="baseline_app:application"),
            env=base_env,
            cwd=baseline.parent,
        )
        url = f"http://127.0.0.1:{base_port}"
        support.wait_http(url + "/ok", proc)
        servers["reference"] = (url, baseline.parent / "baseline_post.lua", lambda prefix: [])
    proc = procs.start("app-ingest", support.gunicorn_cmd(port, workers=args.workers), env=env)
    url = f"http://127.0.0.1:{port}"
    support.wait_http(url + "/healthz", proc)
    app_args = [WEBHOOK_PATH, settings.KYC_PROVIDERS["veriff"][1]["api_key"]]
    servers["app"] = (url, HERE / "veriff_decision.lua", lambda prefix: [str(prefix), *app_args])
    # Solaris's notifications to the same server, measured in the same rounds: one more kind of
    # delivery (its secret looked up by subscription and unsealed), against the same target.
    identifications = solaris_identifications(args.sessions)
    subscription = solaris_subscription()
    solaris_files = {"warm": data / "warm-solaris"}
    write_solaris_request_files(
        solaris_files["warm"],
        identifications,
        subscription,
        per_thread=warm_per_thread,
        threads=args.threads,
        start=0,
    )
    servers["solaris"] = (
        url,
        HERE / "solaris_identification.lua",
        lambda prefix: [str(solaris_files[prefix.name]), SOLARIS_PATH, subscription[0]],
    )
    if args.variant:
        # The same app with other settings, on the same database, measured in the same rounds.
        variant_port = support.free_port()
        extra = dict(item.split("=", 1) for item in args.variant)
        variant_env = support.app_env(db_url, port=variant_port, **extra)
        proc = procs.start(
            "app-variant", support.gunicorn_cmd(variant_port, workers=args.workers), env=variant_env
        )
        variant_url = f"http://127.0.0.1:{variant_port}"
        support.wait_http(variant_url + "/healthz", proc)
        servers["variant"] = (
            variant_url,
            HERE / "veriff_decision.lua",
            lambda prefix: [str(prefix), *app_args],
        )

    for url, script, script_args in servers.values():
        run_wrk(url, script, script_args(data / "warm"), seconds=args.warmup, **wrk)

    rounds = []
    for number in range(args.rounds):
        prefix = data / f"load{number}"
        write_request_files(
            prefix, sessions, per_thread=per_thread, threads=args.threads, start=(number + 1) * 10_000_000
        )
        solaris_files[prefix.name] = data / f"load{number}-solaris"
        write_solaris_request_files(
            solaris_files[prefix.name],
            identifications,
            subscription,
            per_thread=per_thread,
            threads=args.threads,
            start=(number + 1) * 10_000_000,
        )
        result = {}
        for name, (url, script, script_args) in servers.items():
            if name == "reference":
                truncate(BASELINE_DB, "event")
            else:
                truncate(APP_DB, "webhooks_inboundevent")
                support.flush_broker()
            result[name], out = run_wrk(url, script, script_args(prefix), seconds=args.duration, **wrk)
            result[name]["output"] = out
            # Requests still in flight when wrk stopped (or waiting in the listen backlog) finish
            # and are stored, and the app's queueing threads publish their last batch: let them.
            table = "event" if name == "reference" else "webhooks_inboundevent"
            settle(BASELINE_DB if name == "reference" else APP_DB, f"SELECT count(*) FROM {table}")
            if name == "reference":
                result[name]["stored"] = count_rows(BASELINE_DB, "SELECT count(*) FROM event")
            elif name == "variant":
                result[name]["stored"] = count_rows(
                    APP_DB, "SELECT count(*) FROM webhooks_inboundevent WHERE authenticated"
                )
                result[name]["queued"] = len(set(support.broker_queued_event_ids()))
            else:
                result[name]["stored"] = count_rows(
                    APP_DB, "SELECT count(*) FROM webhooks_inboundevent WHERE authenticated"
                )
                result[name]["rejected"] = count_rows(
                    APP_DB, "SELECT count(*) FROM webhooks_inboundevent WHERE NOT authenticated"
                )
                result[name]["duplicates"] = count_rows(
                    APP_DB, "SELECT coalesce(sum(duplicates), 0) FROM webhooks_inboundevent"
                )
                result[name]["queued"] = len(set(support.broker_queued_event_ids()))
        if "reference" in result:
            result["ratio"] = result["app"]["rps"] / result["reference"]["rps"]
            result["solaris_ratio"] = result["solaris"]["rps"] / result["reference"]["rps"]
            print(
                f"round {number + 1}: reference {result['reference']['rps']:.0f} req/s, "
                f"app {result['app']['rps']:.0f} req/s, ratio {result['ratio']:.0%}; "
                f"Solaris {result['solaris']['rps']:.0f} req/s, ratio {result['solaris_ratio']:.0%}",
                flush=True,
            )
        if "variant" in result:
            result["variant_ratio"] = result["variant"]["rps"] / result["app"]["rps"]
            variant = " ".join(args.variant)
            print(
                f"round {number + 1}: variant ({variant}) {result['variant']['rps']:.0f} req/s, "
                f"p99 {result['variant']['p99']:.0f} ms; app p99 {result['app']['p99']:.0f} ms",
                flush=True,
            )
        rounds.append(result)
    # The round with the median ratio (or the median app throughput) is the one reported.
    key = (lambda r: r["ratio"]) if "ratio" in rounds[0] else (lambda r: r["app"]["rps"])
    chosen = sorted(rounds, key=key)[(len(rounds) - 1) // 2]
    base, app = chosen.get("reference"), chosen["app"]
    stored, queued, duplicates = app["stored"], app["queued"], app["duplicates"]
    not_stored = app["rejected"]
    answered_ok = app["requests"] - app["non2xx"]
    out = app["output"]

    # --- figures ---
    if base:
        report.add("reference requests/s", base["rps"], unit="req/s")
        report.add("reference p50 / p99", f"{base['p50']:.1f} / {base['p99']:.1f}", unit="ms")
        report.add("reference errors", base["non2xx"] + base["socket_errors"])
    report.add("app requests/s", app["rps"], unit="req/s")
    if base:
        ratio = app["rps"] / base["rps"]
        report.add("app / reference throughput", f"{ratio:.0%}", target=">= 60%", met=ratio >= 0.6)
    report.add("app p50", app["p50"], unit="ms")
    report.add("app p99", app["p99"], unit="ms", target="< 50 ms", met=app["p99"] < 50)
    errors = app["non2xx"] + app["socket_errors"]
    report.add("app errors (non-2xx + socket)", errors, target="0", met=errors == 0)
    # Requests still in flight when wrk stopped are stored without being counted by wrk.
    all_stored = stored >= answered_ok and duplicates == 0 and not_stored == 0
    report.add(
        "events stored / answered 2xx",
        f"{stored:,} / {answered_ok:,}",
        target="every one",
        met=all_stored,
    )
    report.add(
        "events queued for processing / stored",
        f"{queued:,} / {stored:,}",
        target="equal",
        met=queued == stored,
    )
    # Solaris's deliveries, the same targets; its own median round (by its ratio to the reference).
    solaris_round = sorted(rounds, key=lambda r: r.get("solaris_ratio", r["solaris"]["rps"]))[
        (len(rounds) - 1) // 2
    ]
    solaris = solaris_round["solaris"]
    report.add("app, Solaris deliveries: requests/s", solaris["rps"], unit="req/s")
    if "solaris_ratio" in solaris_round:
        ratio = solaris_round["solaris_ratio"]
        report.add("app, Solaris / reference throughput", f"{ratio:.0%}", target=">= 60%", met=ratio >= 0.6)
    report.add("app, Solaris: p99", solaris["p99"], unit="ms", target="< 50 ms", met=solaris["p99"] < 50)
    solaris_errors = solaris["non2xx"] + solaris["socket_errors"]
    report.add("app, Solaris: errors (non-2xx + socket)", solaris_errors, target="0", met=solaris_errors == 0)
    solaris_ok = solaris["requests"] - solaris["non2xx"]
    report.add(
        "app, Solaris: events stored / answered 2xx",
        f"{solaris['stored']:,} / {solaris_ok:,}",
        target="every one",
        met=solaris["stored"] >= solaris_ok and solaris["duplicates"] == 0 and solaris["rejected"] == 0,
    )
    report.add(
        "app, Solaris: events queued / stored",
        f"{solaris['queued']:,} / {solaris['stored']:,}",
        target="equal",
        met=solaris["queued"] == solaris["stored"],
    )
    report.note(
        f"gunicorn --preload -w {args.workers} (sync) for both; wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s after a {args.warmup}s warm-up; Redis broker, no Celery worker during the load"
    )
    if len(rounds) > 1 and "ratio" in chosen:
        ratios = ", ".join(f"{r['ratio']:.0%}" for r in rounds)
        report.note(f"{len(rounds)} rounds, servers measured back to back; ratios {ratios}; median shown")
        ratios = ", ".join(f"{r['solaris_ratio']:.0%}" for r in rounds)
        report.note(f"Solaris deliveries, the same rounds: ratios {ratios}; median shown")
    if args.variant:
        variant = chosen["variant"]
        report.add(
            f"variant ({' '.join(args.variant)}) requests/s; p50 / p99",
            f"{variant['rps']:.0f} req/s; {variant['p50']:.1f} / {variant['p99']:.1f} ms",
        )
        report.add(
            "app / variant throughput, each round",
            ", ".join(f"{1 / r['variant_ratio']:.0%}" for r in rounds),
        )
        report.add("variant: events stored / tasks queued", f"{variant['stored']:,} / {variant['queued']:,}")
    if duplicates:
        report.note(f"{duplicates} duplicate deliveries: raise --max-rate so every body is distinct")
    if errors:
        report.note("wrk output:\n" + out)
    return True


if __name__ == "__main__":
    sys.exit(main())
