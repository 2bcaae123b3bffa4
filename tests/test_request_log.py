"""Request logs carry no personal data and no bearer link (issue 11, item 9): query values and the
tokens in end-user and hosted-flow paths are redacted in Django's request loggers (runserver,
404s, CSRF refusals) and in gunicorn's access and error logs (config/gunicorn.py)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from django.core.servers.basehttp import WSGIRequestHandler
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from gunicorn.config import Config

from config.gunicorn import RedactingLogger
from config.request_log import redact_text, redact_url
from kyc.links import start_token
from tests.support.servers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
SURNAME = "Quillfeather"
TOKEN = start_token(4242)
REFERENCE = "6f1c2d3e-8a7b-4c5d-9e0f-a1b2c3d4e5f6"
HOSTED_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzZXNzaW9uIjoiYSJ9.c2lnbmF0dXJl"
# A link whose signature does not match: answered 404 before any database query.
FORGED_TOKEN = TOKEN[:-1] + ("A" if TOKEN[-1] != "A" else "B")
SECRETS = (SURNAME, TOKEN, REFERENCE, HOSTED_TOKEN, FORGED_TOKEN)


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def collected():
    """What the request loggers write, their own filters applied (django.server propagates nowhere)."""
    handler = Collect()
    loggers = [
        logging.getLogger(name) for name in ("django.server", "django.request", "django.security.csrf")
    ]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler.lines
    for logger in loggers:
        logger.removeHandler(handler)


def assert_clean(text: str) -> None:
    assert not [secret for secret in SECRETS if secret in text], text


# --- the redaction ----------------------------------------------------------------------------
REDACTIONS = [
    (f"/admin/kyc/customer/?q={SURNAME}&p=2", "/admin/kyc/customer/?q=[redacted]&p=[redacted]"),
    (f"/verify/start/{TOKEN}/", "/verify/start/[redacted]/"),
    (f"/verify/s/{REFERENCE}/status/", "/verify/s/[redacted]/status/"),
    (f"/verify/return/{REFERENCE}/", "/verify/return/[redacted]/"),
    (f"https://magic.veriff.me/v/{HOSTED_TOKEN}", "https://magic.veriff.me/v/[redacted]"),
    (f"/sandbox/veriff/v/{HOSTED_TOKEN}?lang=de", "/sandbox/veriff/v/[redacted]?lang=[redacted]"),
    ("/webhooks/shareid/?s3cr3t", "/webhooks/shareid/?[redacted]"),
    (
        f"/sandbox/solaris/idnow/identifications/{HOSTED_TOKEN}",
        "/sandbox/solaris/idnow/identifications/[redacted]",
    ),
    ("/api/v1/customers/12/", "/api/v1/customers/12/"),
    ("/healthz", "/healthz"),
]


# Named by the redacted URL: the start link's token changes with the clock, and pytest-xdist's
# workers must collect the same test ids.
@pytest.mark.parametrize(("url", "expected"), REDACTIONS, ids=[expected for _, expected in REDACTIONS])
def test_query_values_and_bearer_segments_are_redacted_and_the_rest_kept(url, expected):
    assert redact_url(url) == expected


def test_a_malformed_request_line_loses_its_whole_query():
    line = f"GET /admin/kyc/customer/?q=Zephyrine {SURNAME} HTTP/1.1"
    assert redact_text(line) == "GET /admin/kyc/customer/?q=[redacted] HTTP/1.1"
    assert_clean(redact_text(f"code 400, message Bad request syntax ('{line}')"))


def _routes(resolver: URLResolver, prefix: str = "") -> list[str]:
    routes = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes += _routes(entry, route)
        elif isinstance(entry, URLPattern):
            routes.append(route)
    return routes


def test_every_route_with_a_token_or_a_session_reference_in_its_path_is_redacted():
    bearer = [r for r in _routes(get_resolver()) if "token>" in r or "reference>" in r or "idnow/" in r]
    assert len(bearer) >= 8  # the flow's six and the sandboxes' hosted pages: the walk found them
    for route in bearer:
        path = "/" + route.replace("<str:token>", TOKEN).replace("<uuid:reference>", REFERENCE)
        path = path.replace("<str:identification_id>", TOKEN)
        assert_clean(redact_url(path))


# --- Django's loggers -------------------------------------------------------------------------
def test_runserver_request_lines_are_redacted(collected):
    # WSGIRequestHandler.log_message, as runserver calls it after each request.
    handler = SimpleNamespace(request=None, log_date_time_string=lambda: "03/Dec/2026 08:00:00")
    for path in (f"/admin/kyc/customer/?q={SURNAME}", f"/verify/start/{TOKEN}/"):
        WSGIRequestHandler.log_message(handler, '"%s" %s %s', f"GET {path} HTTP/1.1", "200", "1234")
    assert len(collected) == 2
    assert "/admin/kyc/customer/?q=[redacted]" in collected[0]
    assert_clean("\n".join(collected))


@pytest.mark.django_db
def test_a_not_found_start_link_is_logged_without_its_token(client, collected):
    response = client.get(f"/verify/start/{TOKEN}/?utm={SURNAME}")  # no such customer
    assert response.status_code == 404
    assert collected == ["Not Found: /verify/start/[redacted]/"]


@pytest.mark.django_db
def test_a_csrf_refusal_is_logged_without_the_path_token(collected):
    response = Client(enforce_csrf_checks=True).post(f"/verify/start/{TOKEN}/")
    assert response.status_code == 403
    assert collected == ["Forbidden (CSRF cookie not set.): /verify/start/[redacted]/"]


# --- gunicorn -----------------------------------------------------------------------------------
def gunicorn_logger(tmp_path) -> RedactingLogger:
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("errorlog", str(tmp_path / "error.log"))
    cfg.set("loglevel", "debug")
    return RedactingLogger(cfg)


def test_gunicorns_access_line_carries_no_search_term_token_or_credential(tmp_path):
    logger = gunicorn_logger(tmp_path)
    response = SimpleNamespace(
        status="302 Found", sent=0, headers=[("Location", f"https://magic.veriff.me/v/{HOSTED_TOKEN}")]
    )
    request = SimpleNamespace(
        headers=[
            ("REFERER", f"https://kyc.example.com/admin/kyc/customer/?q={SURNAME}"),
            ("X-AUTH-CLIENT", HOSTED_TOKEN),
        ]
    )
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/verify/s/{REFERENCE}/?q={SURNAME}",
        "PATH_INFO": f"/verify/s/{REFERENCE}/",
        "QUERY_STRING": f"q={SURNAME}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"https://kyc.example.com/admin/kyc/customer/?q={SURNAME}",
        "REMOTE_ADDR": "203.0.113.9",
    }
    # The default format (request line, referer), plus every atom that holds a URL or a secret.
    logger.cfg.set(
        "access_log_format",
        logger.cfg.access_log_format + " %(U)s %(q)s {location}o {referer}i {x-auth-client}i {raw_uri}e",
    )
    logger.access(response, request, environ, dt.timedelta(milliseconds=12))
    line = (tmp_path / "access.log").read_text()
    assert '"GET /verify/s/[redacted]/?q=[redacted] HTTP/1.1" 302' in line
    assert "203.0.113.9" in line
    assert_clean(line)


def test_gunicorns_error_log_names_the_request_redacted(tmp_path):
    logger = gunicorn_logger(tmp_path)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("Error handling request %s", f"/verify/start/{TOKEN}/?q={SURNAME}")
    logger.debug("%s %s", "GET", f"/verify/s/{REFERENCE}/")  # gunicorn's pre_request hook
    text = (tmp_path / "error.log").read_text()
    assert "Error handling request /verify/start/[redacted]/?q=[redacted]" in text
    assert_clean(text)


def test_the_served_app_logs_no_search_term_and_no_link(tmp_path):
    """The real thing: gunicorn with the shipped settings (config/gunicorn.py), as in production."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "LOG_LEVEL": "DEBUG",
    }
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "python:config.gunicorn"),
                *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--log-level", "debug"),
                *("--access-logfile", "-", "--error-logfile", "-"),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: requests.get(f"{base}/healthz", timeout=2).ok, timeout=60, message="gunicorn")
        referer = {"Referer": f"{base}/admin/kyc/customer/?q={SURNAME}"}
        for path in (f"/admin/kyc/customer/?q={SURNAME}", f"/verify/start/{FORGED_TOKEN}/"):
            requests.get(base + path, headers=referer, allow_redirects=False, timeout=10)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    text = log.read_text()
    assert "GET /admin/kyc/customer/?q=[redacted] HTTP/1.1" in text  # the lines are there
    assert "Not Found: /verify/start/[redacted]/" in text
    assert_clean(text)
