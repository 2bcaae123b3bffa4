"""URLs as they may be written to a log: query values and bearer path segments redacted.

Every server log names the requests it served: gunicorn's access log (config/gunicorn.py),
runserver's request lines (`django.server`), Django's 404 and 5xx lines (`django.request`) and its
CSRF refusals (`django.security.csrf`). Those URLs carry what a log must not:
- query strings hold what people typed: a back-office search (`?q=<surname>`), a filter on an
  email or an external reference. Every value is replaced and the keys are kept, so a log still
  tells which page, filter or sort was asked for, never with what;
- some paths are bearer credentials, good for whoever holds them: the end user's start link
  (signed, valid KYC_LINK_MAX_AGE), our session reference (it leads to the provider's hosted flow)
  and the provider's hosted-flow token itself (Veriff's `/v/<token>`, the sandbox's copy).

Written here rather than taken from a library: none redacts Django's and gunicorn's request
lines, and the bearer routes are ours (kyc/flow/urls.py, providers/veriff/sandbox/urls.py).
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

# The prefix before a bearer segment; the segment (up to the next "/") is replaced.
# tests/test_request_log.py walks the URL configuration so that a new route with a `token` or
# `reference` in its path cannot be left out of this list.
_BEARER = re.compile(
    r"""^(?P<prefix>
        /verify/(?:start|s|return)/     # end-user start link; session reference (kyc/flow/urls.py)
      | (?:/sandbox/[^/]+)?/v/          # a provider's hosted flow: Veriff's /v/<token>, the sandbox's
      | /sandbox/[^/]+/idnow/identifications/  # the Solaris sandbox's hosted page (a bearer link)
    )[^/]+""",
    re.VERBOSE,
)

# An HTTP request line, as runserver logs it, possibly malformed (spaces in the target): the
# whole target is one URL.
_REQUEST_LINE = re.compile(r"^(?P<method>[A-Z]+) (?P<target>.+) (?P<version>HTTP/\d(?:\.\d)?)$")
# A URL inside a line of text: "Not Found: /path", an absolute URL, a request line quoted in an
# error. Its path ends at whitespace or a quote; its query only at a quote, " HTTP/" or the end,
# since a malformed request may hold unencoded spaces (over-redacting is the safe side).
_URL_IN_TEXT = re.compile(
    r"""(?:\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/"'<>?]*)?/[^\s"'<>?]*(?:\?(?:[^\s"'<>]|\s(?!HTTP/))*)?"""
)


def redact_query(query: str) -> str:
    """`q=Smith&p=2` → `q=[redacted]&p=[redacted]`; a bare value (`?<token>`) goes whole."""
    return "&".join(
        (key + "=" + REDACTED if sep else REDACTED) if part else ""
        for part in query.split("&")
        for key, sep, _ in [part.partition("=")]
    )


def redact_url(url: str) -> str:
    """A path, path and query, or absolute URL, with query values and bearer segments redacted."""
    origin = ""
    if "://" in url:
        scheme, _, rest = url.partition("://")
        host, slash, url = rest.partition("/")
        origin, url = f"{scheme}://{host}", slash + url
    url = url.partition("#")[0]  # a fragment is the browser's: never sent, nothing to log
    path, question, query = url.partition("?")
    path = _BEARER.sub(r"\g<prefix>" + REDACTED, path)
    return f"{origin}{path}?{redact_query(query)}" if question else origin + path


def redact_text(text: str) -> str:
    """Every URL in a line of text redacted (redact_url); the rest left as it is."""
    if "/" not in text:
        return text
    line = _REQUEST_LINE.match(text)
    if line:
        return f"{line['method']} {redact_url(line['target'])} {line['version']}"
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)


class RedactUrls(logging.Filter):
    """A logging filter that redacts the URLs in a record's arguments (in its message when it has
    none). Put on the loggers that name requests (config/settings.py, LOGGING)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact_text(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, dict) and record.args:
            record.args = {k: redact_text(v) if isinstance(v, str) else v for k, v in record.args.items()}
        elif not record.args and isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        return True
