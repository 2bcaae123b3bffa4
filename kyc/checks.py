"""Checks of our own: `providers_configured` on every `manage.py` command that checks (migrate,
runserver, check), the others by `manage.py check --deploy` beside Django's. What a provider
needs is asked of the provider (Provider.configuration_problems): nothing here names one."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from providers.registry import configuration_refusals, get_provider, provider_names


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
    if settings.KYC_ALLOW_SANDBOX_PROVIDERS:
        # Refused outright without the opt-in (providers_configured below); with it, a deployment
        # is told what it runs on.
        for name in provider_names():
            try:
                problems = get_provider(name).configuration_problems()
            except (ImproperlyConfigured, ImportError, TypeError, ValueError):
                continue  # an entry that cannot be built is kyc.E001 (providers_configured)
            if problems:
                found.append(
                    checks.Warning(
                        f"Provider {name!r} runs on its sandbox or without credentials "
                        f"(KYC_ALLOW_SANDBOX_PROVIDERS): {'; '.join(problems)}.",
                        hint="Fine for staging; in production set the variables named and unset "
                        "KYC_ALLOW_SANDBOX_PROVIDERS.",
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


@checks.register(checks.Tags.security)
def providers_configured(app_configs=None, **kwargs):
    """An enabled provider pointing at its sandbox or lacking credentials stops start-up, unless
    the sandboxes are allowed (KYC_ALLOW_SANDBOX_PROVIDERS: on in development). gunicorn runs no
    checks: config/wsgi.py refuses the same, and providers/registry.py at every use. So does a
    default provider that is not enabled."""
    found = [checks.Error(refusal, id="kyc.E001") for refusal in configuration_refusals().values()]
    if settings.KYC_DEFAULT_PROVIDER not in provider_names():
        found.append(
            checks.Error(
                f"KYC_DEFAULT_PROVIDER is {settings.KYC_DEFAULT_PROVIDER!r}, which is not an enabled "
                f"provider ({', '.join(provider_names()) or 'none is'}): a start naming no provider "
                "would fail.",
                hint="Set KYC_DEFAULT_PROVIDER to one of the names in KYC_PROVIDERS.",
                id="kyc.E002",
            )
        )
    return found
