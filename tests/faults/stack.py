"""The live stack (tests/support/servers.py) with the faults these tests inject: a worker killed
with SIGKILL and started again, and a database outage.

The outage is made on the test database only (its connections cut, new ones refused, then allowed
again): to the app it looks like a database restart, and it leaves alone the other databases that
share the PostgreSQL server on a developer's machine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import uuid
from collections.abc import Iterator

import psycopg

from tests.support.servers import LiveStack, ServiceProcess, StartupError, WaitTimeout, wait_until


class FaultStack(LiveStack):
    worker_concurrency: int = 2
    worker_generation: int = 0

    def _start_worker(self) -> None:
        # The harness's worker, with a concurrency of our choosing and a fresh log per start, so
        # that "ready." is looked for in this start's log only.
        self.worker_generation += 1
        name = f"kycdesk-faults-{uuid.uuid4().hex[:8]}@%h"
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
                self.extra_env.get("WORKER_LOG_LEVEL", "info"),
                "--concurrency",
                str(self.worker_concurrency),
                "--hostname",
                name,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env=self.env(),
            log_path=self.log_dir / f"worker-{self.worker_generation}.log",
        )
        self.worker.start()
        try:
            wait_until(self._worker_ready, timeout=60, message="the Celery worker's 'ready.'")
        except WaitTimeout as exc:
            raise StartupError(f"the Celery worker did not start: {exc}\n{self.worker.tail()}") from None

    def kill_worker(self) -> None:
        """SIGKILL the worker and its pool, as the kernel's OOM killer or a lost machine would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.worker.proc.pid, signal.SIGKILL)
        self.worker.proc.wait(timeout=15)

    def restart_worker(self) -> None:
        self._start_worker()

    def logs(self) -> str:
        """Everything the app and every worker generation wrote."""
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.log_dir.glob("*.log")))

    @contextlib.contextmanager
    def database_down(self, database_name: str, admin_dsn: str) -> Iterator[None]:
        """The test database refuses connections and loses the ones it had, until the block ends."""
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{database_name}" ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [database_name],
            )
            try:
                yield
            finally:
                admin.execute(f'ALTER DATABASE "{database_name}" ALLOW_CONNECTIONS true')
