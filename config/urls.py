from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from kyc import health, metrics, pages

urlpatterns = [
    path("", pages.home, name="home"),  # the admin's "View site"
    path("favicon.ico", pages.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("verify/", include("kyc.flow.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("webhooks/", include("webhooks.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
]

if settings.KYC_SANDBOX_ENABLED:
    # Provider sandboxes: never mounted in production (docs/security.md; each provider's README,
    # "The sandbox").
    urlpatterns += [
        path("sandbox/veriff/", include("providers.veriff.sandbox.urls")),
        path("sandbox/solaris/", include("providers.solaris.sandbox.urls")),
        path("sandbox/shareid/", include("providers.shareid.sandbox.urls")),
    ]

# JSON errors under /api/, the usual pages elsewhere.
handler403 = "api.errors.permission_denied"
handler404 = "api.errors.page_not_found"
handler500 = "api.errors.server_error"
