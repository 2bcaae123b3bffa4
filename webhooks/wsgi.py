"""The WSGI entry for provider webhooks: the same Django project, a shorter middleware stack.

A webhook is a machine posting a signed body: it has no session, no user, no CSRF token, no
language and no page to frame, and it is the busiest path the app has (a provider's retry storm,
benchmarks/webhook_ingest.py). Through the site's full stack (static files, sessions, locale, CSRF,
auth, OTP, messages, axes) a delivery spent about a quarter of its CPU in middleware it does not
use. Requests under WEBHOOK_PATH_PREFIX are therefore served by a handler built from
settings.WEBHOOK_MIDDLEWARE (security, common and CSP: HTTPS redirect, the security headers, host
checks); every other request goes to the usual handler. URLs, views, settings and database are the same.

A mounted provider sandbox's API (settings.KYC_SANDBOX_SERVER_PATHS, which each sandbox declares,
empty unless KYC_SANDBOX_ENABLED) is the same kind of endpoint, the provider's side of the
conversation: the worker's listing and download calls, authenticated by their signature. It is
served by the same short stack, as the provider's own API would be by a server of its own: through
the site's stack much of its CPU went to middleware, CPU that the latency benchmark's decisions
share with the app on one machine (benchmarks/decision_cpu.py).
"""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

WEBHOOK_PATH_PREFIX = "/webhooks/"


def short_stack_prefixes() -> tuple[str, ...]:
    """The paths served by the webhook handler: deliveries, and the mounted sandboxes' APIs."""
    return (WEBHOOK_PATH_PREFIX, *settings.KYC_SANDBOX_SERVER_PATHS)


class WebhookHandler(WSGIHandler):
    """Django's WSGI handler with settings.WEBHOOK_MIDDLEWARE instead of settings.MIDDLEWARE."""

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


class PathDispatcher:
    """Requests under one of `prefixes` (webhook deliveries, the sandbox's provider API) to the
    webhook handler, everything else to the site's."""

    def __init__(self, site, webhooks, prefixes: tuple[str, ...] | None = None):
        self.site, self.webhooks = site, webhooks
        self.prefixes = short_stack_prefixes() if prefixes is None else prefixes

    def __call__(self, environ, start_response):
        handler = self.webhooks if environ.get("PATH_INFO", "").startswith(self.prefixes) else self.site
        return handler(environ, start_response)
