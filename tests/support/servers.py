"""The live stack for integration and browser tests: the app served by gunicorn on a free loopback
port and a real Celery worker, both on the test database, with their logs kept in files.

Plain subprocesses rather than Django's LiveServerTestCase: the point of these suites is the real
thing (a WSGI server with several processes, a worker fed through the broker, the sandbox's
webhooks crossing a socket), and a server thread inside the test process would share its
connections, its settings and its GIL with the test.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import requests

T = TypeVar("T")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
PARKED_AFTER = dt.timedelta(seconds=60)
# The life of the ShareID sandbox's fetch tokens on the live stack (LiveStack.env).
SHAREID_FETCH_TOKEN_SECONDS = 20


class WaitTimeout(AssertionError):
    """A condition polled by `wait_until` did not become true in time."""


def wait_until(
    predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.1, message: str = ""
) -> T:
    """Poll `predicate` until it returns something truthy, and return that.

    Exceptions raised by the predicate count as "not yet" (a row that does not exist yet, a
    server still binding its port); the last one is shown if time runs out.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last_error = None
        except Exception as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {type(last_error).__name__}: {last_error})" if last_error else ""
            raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {message or predicate!r}{detail}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(settings_dict: Mapping) -> str:
    """A DATABASE_URL (django-environ syntax) for a Django PostgreSQL settings dict."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{quote(settings_dict['NAME'], safe='')}"


def tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM it when the test process dies, even by SIGKILL, so a
    killed run leaves no server holding the test database open (Linux's PR_SET_PDEATHSIG)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: stop() still cleans up after a normal end


PR_SET_PDEATHSIG = 1


class ServiceProcess:
    """One child process in its own process group, its stdout and stderr in one log file."""

    def __init__(self, name: str, argv: list[str], *, env: Mapping[str, str], log_path: Path):
        self.name, self.argv, self.env, self.log_path = name, argv, dict(env), log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            log.write(f"$ {' '.join(self.argv)}\n".encode())
            log.flush()
            # A session of its own, so that stop() reaches the children too (gunicorn's workers,
            # the worker's prefork pool) and a Ctrl-C in the terminal does not hit them twice.
            self.proc = subprocess.Popen(
                self.argv,
                cwd=PROJECT_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 60) -> str:
        return tail(self.log_path, lines)

    def stop(self) -> None:
        """Terminate politely (gunicorn and Celery both shut down warm on SIGTERM), then kill."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # == the process group id: start_new_session=True
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=STOP_TIMEOUT)
        # Whatever is left of the group (a hung child, or the master itself) is killed.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=STOP_TIMEOUT)


class StartupError(RuntimeError):
    pass


@dataclass
class LiveStack:
    """gunicorn + a Celery worker, pointed at one database, one broker and one media folder."""

    database_url: str
    broker_url: str
    media_root: Path
    log_dir: Path
    extra_env: Mapping[str, str] = field(default_factory=dict)
    port: int = 0
    app: ServiceProcess | None = None
    worker: ServiceProcess | None = None
    poller: ServiceProcess | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def veriff_api_url(self) -> str:
        return f"{self.base_url}/sandbox/veriff/v1"

    @property
    def solaris_url(self) -> str:
        """The Solaris sandbox: its auth host and its API host in one (providers/solaris/README.md)."""
        return f"{self.base_url}/sandbox/solaris"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DATABASE_URL": self.database_url,
                "CELERY_BROKER_URL": self.broker_url,
                "KYC_PUBLIC_URL": self.base_url,
                "KYC_MEDIA_ROOT": str(self.media_root),
                "VERIFF_API_URL": self.veriff_api_url,
                "SOLARIS_API_URL": self.solaris_url,
                "SOLARIS_AUTH_URL": self.solaris_url,
                "DEBUG": "true",
                "KYC_SANDBOX_ENABLED": "true",
                # Said outright, not left to DEBUG: a test that serves with DEBUG=false and the
                # sandbox still has a provider (providers/registry.py refuses one otherwise).
                "KYC_ALLOW_SANDBOX_PROVIDERS": "true",
                "PYTHONUNBUFFERED": "1",
                # Outbound notification retries in a second, not in 30 (tests/integration).
                "NOTIFICATIONS_RETRY_BASE": "0.5",
                # The business's receiver is on this machine: allowed explicitly, as an operator would.
                "NOTIFICATIONS_ALLOWED_NETWORKS": "127.0.0.0/8",
                # ShareID's sandbox: a result ready a second after the end user's last step, and a
                # fetch token that lives 20 s (ShareID's is 10 minutes), so that a test sees the
                # app renew one. ShareID's 5-second rule between two fetches is never scaled.
                "SHAREID_SANDBOX_ANALYSIS_SECONDS": "1",
                "SHAREID_SANDBOX_FETCH_TOKEN_SECONDS": str(SHAREID_FETCH_TOKEN_SECONDS),
            }
        )
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        self.media_root.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_app()
            self._start_worker()
            self._start_poller()
        except BaseException:
            self.stop()
            raise

    def _start_app(self) -> None:
        # The port is picked before gunicorn binds it; another process may take it in between,
        # so a failed bind is tried again on a new port.
        for _ in range(3):
            self.port = free_port()
            self.app = ServiceProcess(
                "app",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi",
                    # As in production: URLs in its logs redacted (docs/operations.md).
                    "-c",
                    "python:config.gunicorn",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                    "--timeout",
                    "60",
                    "--graceful-timeout",
                    "5",
                    "--access-logfile",
                    "-",
                    "--error-logfile",
                    "-",
                ],
                env=self.env(),
                log_path=self.log_dir / "app.log",
            )
            self.app.start()
            try:
                wait_until(self._app_ready, timeout=STARTUP_TIMEOUT, message="the app's /healthz")
                return
            except WaitTimeout as exc:
                if "Address already in use" in self.app.log():
                    self.app.stop()
                    continue
                raise StartupError(f"gunicorn did not start: {exc}\n{self.app.tail()}") from None
        raise StartupError("gunicorn could not bind a free port three times")

    def _app_ready(self) -> bool:
        if not self.app.alive:
            raise WaitTimeout(f"gunicorn exited with {self.app.proc.returncode}")
        return requests.get(f"{self.base_url}/healthz", timeout=2).status_code == 200

    def _start_worker(self) -> None:
        name = f"kycdesk-it-{uuid.uuid4().hex[:8]}@%h"
        self.worker = ServiceProcess(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel",
                "info",
                "--concurrency",
                "2",
                "--hostname",
                name,
                # One worker alone: no peers to sync with, so these only slow the start.
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env=self.env(),
            log_path=self.log_dir / "worker.log",
        )
        self.worker.start()
        try:
            wait_until(self._worker_ready, timeout=STARTUP_TIMEOUT, message="the Celery worker's 'ready.'")
        except WaitTimeout as exc:
            raise StartupError(f"the Celery worker did not start: {exc}\n{self.worker.tail()}") from None

    def _worker_ready(self) -> bool:
        if not self.worker.alive:
            raise WaitTimeout(f"the worker exited with {self.worker.proc.returncode}")
        return " ready." in self.worker.log()

    def _start_poller(self) -> None:
        """The poller as docs/operations.md runs it on a machine of its own (`manage.py
        poll_sessions`): ShareID's results are fetched by it, whatever the worker is doing. A
        process rather than the beat task: beat would also run reconciliation and the retention
        purge on their own clock, in the middle of tests that count what those do."""
        self.poller = ServiceProcess(
            "poller",
            [sys.executable, "manage.py", "poll_sessions", "-v", "2"],
            env=self.env(),
            log_path=self.log_dir / "poller.log",
        )
        self.poller.start()

    @contextlib.contextmanager
    def poller_paused(self):
        """The stack's poller stopped for a while: for tests that run pollers of their own over
        sessions of providers the stack does not know (it would claim them too, and drop them)."""
        self.poller.stop()
        try:
            yield
        finally:
            self._start_poller()

    def restart(self, **env: str) -> None:
        """Stop every process and start them again with `env` over the stack's environment (a
        setting each process reads once: SHAREID_CALLBACK), on a new port; the logs go on."""
        self.stop()
        self.extra_env = {**self.extra_env, **env}
        self.start()

    def broker_busy(self) -> bool:
        """Whether any task is queued, running or due soon (Redis broker: its queue lists, and
        kombu's `unacked` hash, where acks_late keeps a task until it finished). A retry parked
        for later (an ETA more than PARKED_AFTER away: the sandbox's hourly webhook retries)
        does not count: it will not run during this test run."""
        import redis

        client = redis.Redis.from_url(self.broker_url, socket_connect_timeout=3)
        if any(client.type(key) == b"list" and client.llen(key) for key in client.scan_iter("celery*")):
            return True
        parked_after = dt.datetime.now(dt.UTC) + PARKED_AFTER
        for raw in client.hvals("unacked"):
            try:
                eta = json.loads(raw)[0]["headers"].get("eta")
                if not eta or dt.datetime.fromisoformat(eta) < parked_after:
                    return True
            except (ValueError, KeyError, IndexError, TypeError):
                return True
        return False

    def wait_idle(self, timeout: float = 20.0) -> bool:
        """Wait until the worker has had nothing to do for a few polls in a row; False if it
        never settled (a task waiting for a retry, say). Only the Redis broker is looked at."""
        if not self.broker_url.startswith(("redis://", "rediss://")):
            return True
        quiet = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # A task is briefly neither queued nor unacked while the worker takes it: one empty
            # look is not enough.
            quiet = 0 if self.broker_busy() else quiet + 1
            if quiet >= 3:
                return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        # The pollers and the worker first: they call the app, never the other way round.
        for process in (self.poller, self.worker, self.app):
            if process is not None:
                process.stop()

    def log_tails(self, lines: int = 60) -> dict[str, str]:
        return {p.name: p.tail(lines) for p in (self.app, self.worker, self.poller) if p is not None}
