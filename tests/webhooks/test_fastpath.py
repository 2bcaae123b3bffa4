"""The speed tricks of the webhook path (webhooks/fastpath.py, webhooks/dispatch.py) lean on
internals of Django, psycopg and Celery: each assumption is checked here, so that an upgrade that
changes one fails a test."""

import os

import psycopg
import pytest
from celery import current_app
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.db.backends.postgresql.base import Cursor as DjangoPostgresCursor
from django.utils.module_loading import import_string
from psycopg.adapt import Transformer

from webhooks import dispatch
from webhooks.fastpath import (
    _INSERTED,
    WebhookHandler,
    connection_health_check_skip,
    inbound_event_insert_once,
)
from webhooks.models import InboundEvent

SQL = "INSERT INTO t (body) VALUES (%s)"


# --- connection_health_check_skip -------------------------------------------------------------
# Outside a test transaction, as a request runs: Django drops a connection found inside one.
@pytest.mark.django_db(transaction=True)
def test_the_skip_spares_the_health_check_query_of_the_request_and_only_of_it():
    checks = []
    connection.ensure_connection()
    enabled = connection.health_check_enabled
    connection.health_check_enabled = True  # CONN_HEALTH_CHECKS, as on PostgreSQL
    connection.is_usable = lambda: checks.append(1) or True
    try:
        # What Django does at a request's start (close_old_connections): the next cursor checks.
        connection.close_if_unusable_or_obsolete()
        with connection.cursor():
            pass
        assert checks == [1]

        connection.close_if_unusable_or_obsolete()
        connection_health_check_skip()
        with connection.cursor():
            pass
        assert checks == [1]  # skipped: `health_check_done` is the flag Django's check reads

        connection.close_if_unusable_or_obsolete()  # the next request checks again
        with connection.cursor():
            pass
        assert checks == [1, 1]
    finally:
        del connection.is_usable
        connection.health_check_enabled = enabled


# --- execute_fetchone ---------------------------------------------------------------------------
def test_a_plain_psycopg_cursor_binds_the_body_on_the_server():
    query = psycopg.Cursor._query_cls(Transformer())
    query.convert(SQL, [b"it's a body"])
    assert query.query == b"INSERT INTO t (body) VALUES ($1)"
    assert [bytes(p) for p in query.params] == [b"it's a body"]  # sent apart, not escaped


def test_djangos_own_postgresql_cursor_binds_in_python_so_the_plain_one_is_needed():
    assert issubclass(DjangoPostgresCursor, psycopg.ClientCursor)
    query = DjangoPostgresCursor._query_cls(Transformer())
    query.convert(SQL, [b"it's a body"])
    assert b"$1" not in query.query and b"it''s a body" in query.query


# --- inbound_event_insert_once ------------------------------------------------------------------
def test_the_insert_names_every_column_that_has_no_default():
    # A column added to InboundEvent as NOT NULL without a default would make every delivery's
    # insert fail: it must be added to the statement.
    required = {
        field.name
        for field in InboundEvent._meta.concrete_fields
        if not field.primary_key and not field.null and not field.has_default()
    }
    assert required <= set(_INSERTED)


@pytest.mark.django_db
def test_the_insert_stores_an_event_once_and_reports_the_duplicate():
    values = {
        "provider": "veriff",
        "kind": "decision",
        "body": b'{"status": "success"}',
        "headers": {"Content-Type": "application/json"},
        "remote_addr": "127.0.0.1",
        "authenticated": True,
        "dedupe_key": "fastpath-test",
        "provider_session_id": "abc",
    }
    event_id = inbound_event_insert_once(values)
    assert inbound_event_insert_once(values) is None
    event = InboundEvent.objects.get()
    assert event.pk == event_id and bytes(event.body) == values["body"]
    assert (event.state, event.headers, event.remote_addr) == (
        InboundEvent.State.RECEIVED,
        values["headers"],
        "127.0.0.1",
    )


# --- WebhookHandler -----------------------------------------------------------------------------
def _middleware_chain(handler) -> list[type]:
    """The middleware classes of a handler's chain, outermost first. Django wraps each middleware
    in convert_exception_to_response (functools.wraps: `__wrapped__`) and hands it the next one as
    `get_response`."""
    classes, link = [], handler._middleware_chain
    while True:
        link = getattr(link, "__wrapped__", link)
        if not hasattr(link, "get_response") or isinstance(link, WSGIHandler):
            return classes
        classes.append(type(link))
        link = link.get_response


def test_the_webhook_handler_builds_djangos_chain_from_the_short_list():
    site = WSGIHandler()
    assert _middleware_chain(site) == [import_string(path) for path in settings.MIDDLEWARE]
    webhooks = WebhookHandler()
    assert _middleware_chain(webhooks) == [import_string(path) for path in settings.WEBHOOK_MIDDLEWARE]
    # The site's list is back in place (built again, it gives the site's chain), and the short
    # one is the site's with some left out.
    assert _middleware_chain(WSGIHandler()) == _middleware_chain(site)
    kept = [path for path in settings.MIDDLEWARE if path in settings.WEBHOOK_MIDDLEWARE]
    assert kept == list(settings.WEBHOOK_MIDDLEWARE)


# --- BatchPublisher (webhooks/dispatch.py) ------------------------------------------------------
def test_tasks_run_in_process_reach_celerys_configuration_under_the_name_dispatch_reads():
    # enqueue_event publishes at once when tasks run in-process; it reads Celery's name for it.
    assert current_app.conf.task_always_eager is settings.CELERY_TASK_ALWAYS_EAGER


def test_a_forked_child_starts_with_an_empty_publisher():
    published = []
    publisher = dispatch.BatchPublisher(published.extend, linger=60, max_batch=10)
    publisher.add(1)  # the parent's thread is waiting out its linger with one id
    pid = os.fork()
    if pid == 0:  # the child: a pre-forking server's worker
        os._exit(0 if (publisher._pending, publisher._thread) == ([], None) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    publisher.flush()
    assert published == [1]
