"""Liveness and readiness (DESIGN.md, URL contract)."""

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)


def healthz(request):
    return JsonResponse({"status": "ok"})


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker() -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return  # tasks run in-process: there is no broker to reach
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def readyz(request):
    checks = {}
    ok = True
    for name, check in (("database", _database), ("broker", _broker)):
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
