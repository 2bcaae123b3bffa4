"""The WSGI entry for provider webhooks: the same Django project, a shorter middleware stack.

A webhook is a machine posting a signed body: it has no session, no user, no CSRF token, no
language and no page to frame, and it is the busiest path the app has (a provider's retry storm,
benchmarks/webhook_ingest.py). Through the site's full stack (static files, sessions, locale, CSRF,
auth, OTP, messages, axes) a delivery spent about a quarter of its CPU in middleware it does not
use. Requests under WEBHOOK_PATH_PREFIX are therefore served by a handler built from
settings.WEBHOOK_MIDDLEWARE (security, common and CSP: HTTPS redirect, the security headers, host
checks); every other request goes to the usual handler. URLs, views, settings and database are the same.

The Veriff sandbox's API (SANDBOX_API_PATH_PREFIX, mounted only when KYC_SANDBOX_ENABLED) is the
same kind of endpoint, the provider's side of the conversation: the worker's listing and download
calls, authenticated by their signature. It is served by the same short stack, as Veriff's own
API would be by a server of its own: through the site's stack it spent about half of its CPU in
middleware, CPU that the latency benchmark's decisions share with the app on one machine
(benchmarks/decision_cpu.py).
"""

from __future__ import annotations

WEBHOOK_PATH_PREFIX = "/webhooks/"
SANDBOX_API_PATH_PREFIX = "/sandbox/veriff/v1/"


class PathDispatcher:
    """Requests under one of `prefixes` (webhook deliveries, the sandbox's provider API) to the
    webhook handler, everything else to the site's."""

    def __init__(
        self, site, webhooks, prefixes: tuple[str, ...] = (WEBHOOK_PATH_PREFIX, SANDBOX_API_PATH_PREFIX)
    ):
        self.site, self.webhooks, self.prefixes = site, webhooks, prefixes

    def __call__(self, environ, start_response):
        handler = self.webhooks if environ.get("PATH_INFO", "").startswith(self.prefixes) else self.site
        return handler(environ, start_response)
