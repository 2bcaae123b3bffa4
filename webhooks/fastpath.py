"""The speed tricks of the webhook path, in one place. Each leans on an internal of Django or
psycopg that a release could change; tests/webhooks/test_fastpath.py checks each assumption, so
that an upgrade that breaks one fails a test instead of slowing (or breaking) the busiest path.

- `inbound_event_insert_once`: an event stored by one SQL statement built from the model, rather
  than through `Model.save()`, whose compilation costs more than the rest of a delivery's storing;
- `execute_fetchone`: on PostgreSQL, that statement run on a plain psycopg cursor, which binds
  its parameters on the server (Django's binds them in Python, escaping the body into the text);
- `connection_health_check_skip`: no health-check query before a delivery's one statement;
- `WebhookHandler`: the webhook path served by a shorter middleware stack than the site's.

The batching publisher that queues the stored events is webhooks/dispatch.py's `BatchPublisher`.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, models
from django.utils import timezone

from webhooks.models import InboundEvent

# The columns an authentic delivery is inserted with; the others are NULL until processing.
_INSERTED = (
    "provider", "kind", "body", "headers", "query", "remote_addr", "received_at", "authenticated",
    "auth_error", "dedupe_key", "duplicates", "provider_session_id", "state", "attempts", "error",
    "session_reference",
)  # fmt: skip


# Values of these field types go to the driver as they are; the others (binary, JSON, IP address,
# date) are prepared by their field for the database, as the ORM does.
_PLAIN_FIELDS = (models.CharField, models.TextField, models.BooleanField, models.PositiveIntegerField)


@functools.cache
def _insert_sql(vendor: str) -> tuple[str, tuple]:
    meta = InboundEvent._meta
    fields = tuple(meta.get_field(name) for name in _INSERTED)
    prepared = tuple(
        (field.name, None if type(field) in _PLAIN_FIELDS else field.get_db_prep_save) for field in fields
    )
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    dedupe = quote(meta.get_field("dedupe_key").column)
    # Identifiers from the model, quoted; the values are parameters.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
        f" ON CONFLICT ({dedupe}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    return sql, prepared


def inbound_event_insert_once(values: dict) -> int | None:
    """Insert an authentic event; its id, or None when its dedupe key is stored already.

    The unique dedupe key catches a duplicate delivery, and two identical deliveries racing
    (dj-stripe's way): the second insert finds the first and inserts nothing. One statement, no
    exception and no savepoint for a duplicate: in a request (autocommit) it is a transaction of
    its own. Written as SQL rather than `Model.save()`, whose statement compilation is most of
    what storing a delivery costs; the columns and values still come from the model's fields,
    prepared by the fields as the ORM would.
    """
    sql, prepared = _insert_sql(connection.vendor)
    defaults = {
        "received_at": timezone.now(), "auth_error": "", "duplicates": 0, "attempts": 0, "error": "",
        "query": {}, "session_reference": "",
    }  # fmt: skip
    values = {"state": InboundEvent.State.RECEIVED.value, **defaults, **values}
    params = [
        values[name] if prepare is None else prepare(values[name], connection) for name, prepare in prepared
    ]
    row = execute_fetchone(sql, params)
    return row[0] if row else None


def execute_fetchone(sql: str, params: list):
    """Run one statement and fetch its row. On PostgreSQL, with the parameters bound by the server
    (a plain psycopg cursor, not the client-side binding one Django uses): the body is sent as it
    is instead of being escaped into the SQL text in Python. Django's wrapper still turns the
    driver's errors into Django's (the view retries a connection that died)."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    # Imported here: only a PostgreSQL database loads the driver (a SQLite setup needs no libpq).
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def connection_health_check_skip() -> None:
    """Skip the query Django sends on a kept connection before a request's first statement
    (CONN_HEALTH_CHECKS), for this request. For a caller whose first statement may simply fail on a
    connection that died since the last request (a database restart) and is then tried once more
    on a new one: an insert that is one statement, so nothing ran half, or a read."""
    connection.health_check_done = True


class WebhookHandler(WSGIHandler):
    """Django's WSGI handler with settings.WEBHOOK_MIDDLEWARE instead of settings.MIDDLEWARE: a
    delivery has no session, user, CSRF token, language or page to frame, so the site's middleware
    for those is work it does not need on the busiest path (webhooks/wsgi.py routes to it)."""

    def load_middleware(self, is_async=False):
        # BaseHandler.load_middleware takes its list from settings.MIDDLEWARE and has no parameter
        # for another one: lend it ours while it builds the chain. This runs once, when the WSGI
        # application is created at start-up, before any request is served.
        site_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.WEBHOOK_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = site_middleware
