"""The WSGI entry for provider webhooks: the same Django project, a shorter middleware stack.

A webhook is a machine posting a signed body: it has no session, no user, no CSRF token, no
language and no page to frame, and it is the busiest path the app has (a provider's retry storm,
benchmarks/webhook_ingest.py). Through the site's full stack (static files, sessions, locale, CSRF,
auth, OTP, messages, axes) a delivery would spend much of its CPU in middleware it does not use
(benchmarks/README.md has the figure). Requests under WEBHOOK_PATH_PREFIX are therefore served by a
handler built from
settings.WEBHOOK_MIDDLEWARE (security, common and CSP: HTTPS redirect, the security headers, host
checks); every other request goes to the usual handler. URLs, views, settings and database are the same.

A mounted provider sandbox's API (settings.KYC_SANDBOX_SERVER_PATHS, which each sandbox declares,
empty unless KYC_SANDBOX_ENABLED) is the same kind of endpoint, the provider's side of the
conversation: the worker's listing and download calls, authenticated by their signature. It is
served by the same short stack, as the provider's own API would be by a server of its own: through
the site's stack its CPU would go to middleware, CPU that the latency benchmark's decisions share
with the app on one machine (benchmarks/decision_cpu.py).
"""

from __future__ import annotations

from django.conf import settings

WEBHOOK_PATH_PREFIX = "/webhooks/"


def short_stack_prefixes() -> tuple[str, ...]:
    """The paths served by the webhook handler: deliveries, and the mounted sandboxes' APIs."""
    return (WEBHOOK_PATH_PREFIX, *settings.KYC_SANDBOX_SERVER_PATHS)


class PathDispatcher:
    """Requests under one of `prefixes` (webhook deliveries, the sandbox's provider API) to the
    webhook handler, everything else to the site's."""

    def __init__(self, site, webhooks, prefixes: tuple[str, ...] | None = None):
        self.site, self.webhooks = site, webhooks
        self.prefixes = short_stack_prefixes() if prefixes is None else prefixes

    def __call__(self, environ, start_response):
        handler = self.webhooks if environ.get("PATH_INFO", "").startswith(self.prefixes) else self.site
        return handler(environ, start_response)
