"""What every benchmark needs: its own PostgreSQL database, the app's processes (gunicorn, a
Celery worker) started and always stopped, percentiles, and a table of figures beside targets.

Benchmarks are scripts, not tests (benchmarks/README.md): they print figures, they assert nothing. Each one
creates databases named `kycdesk_bench_*` on the local PostgreSQL, uses one Redis database, and
stops every process it started (by its own process group) whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
# Redis database 6 is this benchmark suite's own; it is emptied before and after each run.
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/6")
DB_PREFIX = "kycdesk_bench_"
VAR = ROOT / "var" / "bench"


# --- databases ----------------------------------------------------------------------------------
def database_url(name: str) -> str:
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def _admin_connection() -> psycopg.Connection:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True)


def drop_database(name: str) -> None:
    assert name.startswith(DB_PREFIX), name  # never anything but a benchmark's own database
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_database(name: str) -> str:
    """A fresh, empty database named `name` (dropped first if a previous run left it)."""
    drop_database(name)
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(name)


def database_exists(name: str) -> bool:
    with _admin_connection() as conn:
        return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone())


def postgres_version() -> str:
    with _admin_connection() as conn:
        return conn.execute("SHOW server_version").fetchone()[0].split()[0]


def flush_broker(url: str = BROKER_URL) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def broker_queued_event_ids(url: str = BROKER_URL, queue: str = "celery") -> list[int]:
    """The inbound event ids waiting in the broker's queue, read from the Celery messages there:
    one per `inbound_event_process` message, several per `inbound_events_process` (a batch)."""
    import base64

    import redis

    ids = []
    for raw in redis.Redis.from_url(url).lrange(queue, 0, -1):
        message = json.loads(raw)
        args = json.loads(base64.b64decode(message["body"]))[0]
        task = message["headers"]["task"]
        if task == "webhooks.tasks.inbound_events_process":
            ids.extend(args[0])
        elif task == "webhooks.tasks.inbound_event_process":
            ids.append(args[0])
    return ids


# --- the app's environment ------------------------------------------------------------------------
def app_env(db_url: str, *, port: int | None = None, broker_url: str | None = BROKER_URL, **extra: str):
    """Production-like settings (DEBUG off: no query log, no debug pages), served over plain HTTP on
    loopback, with the sandbox mounted so that the app has a provider to talk to."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    public = f"http://127.0.0.1:{port}" if port else "http://127.0.0.1:8000"
    env.update(
        DATABASE_URL=db_url,
        DEBUG="false",
        SECRET_KEY="benchmark-only-not-a-secret-" + "x" * 32,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        SECURE_HSTS_SECONDS="0",
        KYC_SANDBOX_ENABLED="true",
        # DEBUG off with Veriff on the sandbox: refused unless said outright (providers/registry.py).
        KYC_ALLOW_SANDBOX_PROVIDERS="true",
        KYC_PUBLIC_URL=public,
        KYC_MEDIA_ROOT=str(VAR / "media"),
        # DEBUG off: Solaris's webhook secrets need a sealing key of their own (a Fernet key; this
        # one is base64 of "benchmark-only-not-a-secret-key!").
        SOLARIS_WEBHOOK_SECRET_KEYS="YmVuY2htYXJrLW9ubHktbm90LWEtc2VjcmV0LWtleSE=",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
    env.update(extra)
    return env


def use_env_in_process(env: dict[str, str]) -> None:
    """Make this process a Django client of the same database and broker, then set Django up."""
    for key in ("DATABASE_URL", "CELERY_BROKER_URL"):
        os.environ.pop(key, None)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def manage(env: dict[str, str], *args: str, quiet: bool = True) -> None:
    out = subprocess.DEVNULL if quiet else None
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=out)


# --- processes --------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Processes this benchmark started, each in its own process group, stopped on exit (also on
    Ctrl-C or an exception): SIGTERM to the group, SIGKILL after a grace period."""

    def __init__(self) -> None:
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, cmd: Sequence[str], *, env: dict[str, str], cwd: Path = ROOT):
        VAR.mkdir(parents=True, exist_ok=True)
        log = open(VAR / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            list(cmd), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        proc.log = log  # type: ignore[attr-defined]
        self.started.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen, grace: float = 10.0) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # Children that outlived their parent (a gunicorn worker) are in the same group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.log.close()  # type: ignore[attr-defined]

    def close(self) -> None:
        for _, proc in reversed(self.started):
            self.stop(proc)
        self.started.clear()

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_http(url: str, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}; see {VAR}/*.log")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def gunicorn_cmd(port: int, *, workers: int, app: str = "config.wsgi:application", extra=()) -> list[str]:
    # Sync workers, preloaded: the same server settings as the reference app's documented command.
    return [
        str(Path(PYTHON).parent / "gunicorn"),
        "--preload",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        # No access log, as in the reference app's documented command (BENCH_ACCESS_LOG=1: to stdout).
        *(["--access-logfile", "-"] if os.environ.get("BENCH_ACCESS_LOG") else []),
        # The app's own gunicorn settings (redacted logs), as in production; not the reference app's.
        *(["-c", "python:config.gunicorn"] if app.startswith("config.") else []),
        *extra,
        app,
    ]


def gthread(threads: int) -> tuple[str, ...]:
    """gunicorn options for `threads` threads per worker (0: the default sync workers). Threaded
    workers keep connections alive, which sync workers never do: a client of the sandbox's API
    then connects once, as it would to Veriff's, instead of once per call."""
    return ("-k", "gthread", "--threads", str(threads)) if threads else ()


def celery_worker_cmd(*, concurrency: int = 1, pool: str = "prefork", queues: str = "") -> list[str]:
    cmd = [
        str(Path(PYTHON).parent / "celery"),
        "-A",
        "config",
        "worker",
        "--loglevel=WARNING",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    if queues:
        cmd.append(f"--queues={queues}")
    return cmd


def rss_kib(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS since the last reset) of a process, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def reset_peak_rss(pid: int) -> bool:
    """Reset a process's peak RSS (VmHWM) to its current RSS (Linux 4.0+, needs permission)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def child_pids(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


# --- CPU accounting ---------------------------------------------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of the live processes in a process group (all their threads)."""
    total = 0
    for pid in _all_pids():
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = _stat_fields(pid)
            if int(fields[2]) == pgid:  # fields[0] is the state: pgrp is field 5 of stat
                total += int(fields[11]) + int(fields[12])
    return total / _TICK


def postgres_cpu_seconds(database: str) -> float:
    """User + system CPU of the PostgreSQL backends connected to `database` (not the server's
    shared background processes, which other databases on the machine also use)."""
    total = 0
    marker = f" {database} ".encode()
    for pid in _all_pids():
        with contextlib.suppress(OSError, IndexError, ValueError):
            if marker in Path(f"/proc/{pid}/cmdline").read_bytes():
                fields = _stat_fields(pid)
                total += int(fields[11]) + int(fields[12])
    return total / _TICK


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent not idle (every process, others' included)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / _TICK


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- figures ------------------------------------------------------------------------------------------
def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: every figure is one that was measured)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Figure:
    name: str
    value: Any
    target: str = ""
    met: bool | None = None  # None: no target, reported for context
    unit: str = ""

    def cells(self) -> list[str]:
        value = self.value
        if isinstance(value, float):
            value = f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
        elif isinstance(value, int):
            value = f"{value:,}"
        verdict = "" if self.met is None else ("met" if self.met else "MISSED")
        return [self.name, f"{value}{(' ' + self.unit) if self.unit else ''}", self.target, verdict]


@dataclass
class Report:
    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, value: Any, *, target: str = "", met: bool | None = None, unit: str = ""):
        self.figures.append(Figure(name, value, target, met, unit))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def print(self) -> None:
        rows = [["figure", "measured", "target", ""]] + [f.cells() for f in self.figures]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        print()
        print(f"== {self.title} ==")
        print(f"machine: {machine()}")
        for index, row in enumerate(rows):
            print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
            if index == 0:
                print("  ".join("-" * w for w in widths))
        for text in self.notes:
            print(f"note: {text}")
        missed = [f.name for f in self.figures if f.met is False]
        print(f"result: {'every target met' if not missed else 'MISSED: ' + ', '.join(missed)}")

    def save(self, path: str | None) -> None:
        if not path:
            return
        data = {
            "title": self.title,
            "machine": machine(),
            "taken_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "figures": [f.__dict__ for f in self.figures],
            "notes": self.notes,
        }
        Path(path).write_text(json.dumps(data, indent=2, default=str) + "\n")


def machine() -> str:
    cpu = platform.processor() or "cpu"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = 0.0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gib = int(line.split()[1]) / 1024 / 1024
    try:
        pg = postgres_version()
    except psycopg.Error:
        pg = "?"
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, PostgreSQL {pg}"
    )


def require(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if path is None:
        sys.exit(f"{tool} is needed: {hint}")
    return path


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Bound a benchmark in time: SIGALRM ends it (and so its `finally` clean-up runs)."""

    def _expired(signum, frame):
        raise TimeoutError(f"{what} took longer than {seconds:.0f}s (raise it with --time-limit)")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.alarm(int(seconds))
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_with_processes(run, args, report: Report, *, database: str, what: str) -> int:
    """`run(args, procs, report)` within `args.time_limit`; whatever happens, the processes it
    started are stopped, the broker emptied and `database` dropped (unless `args.keep`); then the
    report is printed and saved (`args.json`)."""
    with time_limit(args.time_limit, what), Processes() as procs:
        try:
            run(args, procs, report)
        finally:
            procs.close()
            flush_broker()
            if not args.keep:
                from django.conf import settings
                from django.db import connections

                if settings.configured:  # this process's own connection, if it made one
                    connections.close_all()
                drop_database(database)
    report.print()
    report.save(args.json)
    return 0
