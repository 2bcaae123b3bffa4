"""Solaris's own start-up check (registered by apps.py), apart from kyc's: without a sealing key
no subscription secret can be kept or opened, so every delivery would be refused."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from providers.registry import find_provider
from providers.solaris.provider import SolarisProvider


@checks.register(checks.Tags.security)
def webhook_secrets_sealable(app_configs=None, **kwargs):
    try:
        provider = find_provider("solaris")
    except (ImproperlyConfigured, ImportError, TypeError, ValueError):
        return []  # an entry that cannot be built is kyc.E001's to report
    if not isinstance(provider, SolarisProvider):
        return []  # not enabled
    return [
        checks.Error(
            problem,
            hint='docs/operations.md, "Solaris webhooks": make a key, set it, run `solaris_webhooks sync`.',
            id="solaris.E001",
        )
        for problem in provider.seal.problems()
    ]
