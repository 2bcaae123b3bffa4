"""Deployment checks of our own, run by `manage.py check --deploy` beside Django's."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def production_settings(app_configs=None, **kwargs):
    found = []
    if settings.KYC_SANDBOX_ENABLED:
        found.append(
            checks.Warning(
                "The provider sandboxes are mounted (KYC_SANDBOX_ENABLED): anyone could forge "
                "decisions through their control endpoints.",
                hint="Set KYC_SANDBOX_ENABLED=false in production.",
                id="kyc.W001",
            )
        )
    if settings.VERIFF_API_URL.startswith(settings.KYC_PUBLIC_URL + "/sandbox/"):
        found.append(
            checks.Warning(
                "VERIFF_API_URL points at the local sandbox.",
                hint="Set VERIFF_API_URL, VERIFF_API_KEY and VERIFF_API_SECRET of your Veriff integration.",
                id="kyc.W002",
            )
        )
    if not settings.KYC_PUBLIC_URL.startswith("https://"):
        found.append(
            checks.Warning(
                "KYC_PUBLIC_URL is not HTTPS: providers will not deliver webhooks to it and "
                "browsers would send secure cookies nowhere.",
                id="kyc.W003",
            )
        )
    return found
