"""Liveness and readiness: /healthz and /readyz.

/healthz answers while the process serves requests. /readyz also reaches the database, the broker
and the evidence storage, and answers 503 when one of them fails, so that a load balancer stops
sending traffic (and webhooks) to an instance that could not store them.
"""

import logging
import uuid

from celery import current_app
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker() -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return  # tasks run in-process: there is no broker to reach
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _storage() -> None:
    """Write, read back and delete a probe: evidence can be stored only if all three work."""
    name = default_storage.save(f"tmp/readyz-{uuid.uuid4().hex}", ContentFile(b"ok"))
    try:
        with default_storage.open(name, "rb") as probe:
            if probe.read() != b"ok":
                raise OSError("storage probe read back something else")
    finally:
        default_storage.delete(name)


CHECKS = (("database", _database), ("broker", _broker), ("storage", _storage))


@never_cache
def readyz(request):
    checks = {}
    ok = True
    for name, check in CHECKS:
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            checks[name] = "unavailable"
            ok = False
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )
