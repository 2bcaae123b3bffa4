"""ShareID's callback under load (issue 15, "Performance"): its p99 answer time at 32 concurrent
connections beside ShareID's 3000 ms deadline (ShareID counts a slower answer, or any status but
200, as a failure and starts its retries: providers/shareid/README.md, "Callback").

wrk posts callbacks to `/webhooks/shareid/?token=…`, each to its own session's notification URL
with that session's valid token (kyc/session_urls.py makes them), to the app under
`gunicorn --preload -w 4` (sync), as `bench-ingest` serves Veriff's webhooks. Two rounds: callbacks
without images (document capture off: the images are null) and with four base64 images of
`--image-kb` KiB each (document capture on, a few hundred KB a body). Every request's body is its
own (the app deduplicates on the body's hash): each carries a `bench_delivery` number. The
callback is only stored and its processing queued in the broker (Redis), as it is answered; no
worker runs, so the figures are the answer's alone.

    python benchmarks/shareid_callback.py --duration 20
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import support
from benchmarks.webhook_ingest import parse_wrk

DB = support.DB_PREFIX + "shareid_callback"
HERE = Path(__file__).resolve().parent
DEADLINE_MS = 3000.0


def run_wrk(url: str, args: list[str], *, threads: int, connections: int, seconds: int):
    # wrk's own timeout (2 s by default) would leave the slowest answers out of its percentiles and
    # count them as socket errors: it is well past ShareID's deadline, so that they are measured.
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    cmd += ["-s", str(HERE / "shareid_callback.lua"), url, "--", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    return parse_wrk(out), out


def make_sessions(count: int) -> list[tuple[str, str, str]]:
    """`count` open ShareID sessions: (applicant id, our reference, notification path with token)."""
    from django.conf import settings

    from kyc.models import Customer, VerificationSession
    from kyc.session_urls import session_notification

    customer = Customer.objects.create(external_ref="BENCH-CALLBACK")
    sessions = VerificationSession.objects.bulk_create(
        VerificationSession(
            customer=customer, provider="shareid", provider_session_id=f"ap-20261203000000000-cb00-{i:010x}"
        )
        for i in range(count)
    )
    out = []
    for session in sessions:
        url, _ = session_notification(session)
        out.append(
            (session.provider_session_id, str(session.reference), url.removeprefix(settings.KYC_PUBLIC_URL))
        )
    return out


def image(kind: str, size: int, seed: int) -> str:
    """`size` bytes that sniff as a JPEG or a PNG, base64 (their content is never read here)."""
    magic = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" if kind == "jpeg" else b"\x89PNG\r\n\x1a\n"
    return base64.b64encode(magic + os.urandom(max(0, size - len(magic)))).decode()


def callback_body(applicant: str, reference: str, *, thread: int, image_bytes: int) -> str:
    """A callback as ShareID sends it (the onboarding result plus our customer_data)."""
    images = {
        field: image(kind, image_bytes, thread) if image_bytes else None
        for field, kind in (
            ("doc_front", "jpeg"),
            ("doc_back", "jpeg"),
            ("face_face", "png"),
            ("face_doc", "jpeg"),
        )
    }
    body = {
        "bench_delivery": 0,
        "bench_thread": thread,
        "applicant_id": applicant,
        "reasons": [],
        "customer_data": {"reference": reference},
        "document": {
            "type": {"doc_type": "id_card", "doc_model": "2021", "country_code": "fr"},
            "ocr": {
                "doc_num": "X4RTBPFW4",
                "surname": "MARTIN",
                "name": "CAMILLE",
                "birth_date": "1990-04-01",
                "birth_place": "PARIS",
                "expiration_date": "2031-06-30",
                "issuance_date": "2021-07-01",
                "issuance_place": "PREFECTURE DE POLICE",
            },
            **images,
        },
    }
    return json.dumps(body)


def write_files(prefix: Path, sessions, *, threads: int, image_bytes: int) -> int:
    """One file per wrk thread, a line per session; returns the size of one body."""
    size = 0
    for thread in range(1, threads + 1):
        with open(f"{prefix}.{thread}", "w") as out:
            for applicant, reference, path in sessions:
                body = callback_body(applicant, reference, thread=thread, image_bytes=image_bytes)
                size = len(body)
                out.write(f"{path} {body}\n")
    return size


def count_events() -> tuple[int, int]:
    """(callbacks stored, of which rejected or malformed) at the app."""
    from webhooks.models import InboundEvent

    stored = InboundEvent.objects.filter(provider="shareid")
    bad = (InboundEvent.State.REJECTED, InboundEvent.State.MALFORMED)
    return stored.count(), stored.filter(state__in=bad).count()


def run(args, procs: support.Processes, report: support.Report) -> None:
    support.flush_broker()
    port = support.free_port()
    env = support.app_env(support.create_database(DB), port=port, KYC_ENABLED_PROVIDERS="veriff,shareid")
    support.manage(env, "migrate", "--noinput")
    support.use_env_in_process(env)
    sessions = make_sessions(args.sessions)
    server = procs.start("app-callback", support.gunicorn_cmd(port, workers=args.workers), env=env)
    url = f"http://127.0.0.1:{port}"
    support.wait_http(url + "/healthz", server)
    data = support.VAR / "shareid-callback"
    data.mkdir(parents=True, exist_ok=True)
    wrk = {"threads": args.threads, "connections": args.connections}
    for name, image_bytes in (("without images", 0), ("with images", args.image_kb * 1024)):
        prefix = data / name.replace(" ", "-")
        size = write_files(prefix, sessions, threads=args.threads, image_bytes=image_bytes)
        # Each wrk run numbers its deliveries from its own start: no body of one run is another's.
        run_wrk(url, [str(prefix), "0"], seconds=args.warmup, **wrk)
        before, load = count_events(), support.load_average()
        result, out = run_wrk(url, [str(prefix), "10000000"], seconds=args.duration, **wrk)
        stored, refused = (a - b for a, b in zip(count_events(), before, strict=True))
        label = f"{name} ({size / 1024:,.0f} KiB a body)"
        met = result["p99"] <= DEADLINE_MS
        report.add(f"{label}: p99", result["p99"], target=f"<= {DEADLINE_MS:.0f} ms", met=met, unit="ms")
        report.add(f"{label}: p50", result["p50"], unit="ms")
        report.add(f"{label}: requests/s", result["rps"])
        errors = result["non2xx"] + result["socket_errors"]
        report.add(f"{label}: not 200, socket errors", errors, target="0", met=errors == 0)
        report.add(
            f"{label}: callbacks stored (refused) / answered", f"{stored} ({refused}) / {result['requests']}"
        )
        report.add(f"{label}: load average before", load)
        if args.show_wrk:
            report.note(f"wrk, {name}:\n{out}")
    report.note(
        f"gunicorn --preload -w {args.workers} (sync); wrk -t{args.threads} -c{args.connections}, "
        f"{args.warmup} s of warm-up then {args.duration} s per round; {args.sessions} sessions"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=20, help="seconds of load per round")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=4, help="the app's gunicorn workers")
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--image-kb", type=int, default=100, help="KiB of each of the four images")
    parser.add_argument("--show-wrk", action="store_true")
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--json", help="save the figures as JSON here")
    args = parser.parse_args()
    support.require("wrk", "apt-get install -y wrk")
    report = support.Report("ShareID callback: answer time at 32 connections")
    return support.run_with_processes(run, args, report, database=DB, what="the callback benchmark")


if __name__ == "__main__":
    sys.exit(main())
