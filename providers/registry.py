"""Providers are named in settings (KYC_PROVIDERS) and loaded by import_string.

This is also where a provider that may not serve real customers is refused: every webhook
authentication and every provider call gets its provider here, so one check covers both. In
production (KYC_ALLOW_SANDBOX_PROVIDERS off) a provider pointing at its sandbox would accept
webhooks signed with the sandbox's public secret, and one without credentials can do nothing right.
"""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from providers.base import Provider, ProviderNotConfigured


class UnknownProvider(LookupError):
    pass


@cache
def get_provider(name: str) -> Provider:
    """The provider `name`, ready to use. Raises UnknownProvider, or ProviderNotConfigured when it
    points at its sandbox or lacks credentials and the sandboxes are not allowed."""
    provider = _build(name)
    refusal = configuration_refusal(provider)
    if refusal:
        raise ProviderNotConfigured(refusal)
    return provider


def provider_names() -> list[str]:
    return list(settings.KYC_PROVIDERS)


def configuration_refusal(provider: Provider) -> str:
    """Why `provider` is refused here, naming the variables to set; "" when it is not."""
    if settings.KYC_ALLOW_SANDBOX_PROVIDERS:
        return ""
    problems = provider.configuration_problems()
    if not problems:
        return ""
    return (
        f"Provider {provider.name!r} points at its sandbox or lacks credentials: {'; '.join(problems)}. "
        "(A staging deployment that runs on the sandbox on purpose sets KYC_ALLOW_SANDBOX_PROVIDERS=true.)"
    )


def configuration_refusals() -> dict[str, str]:
    """Every enabled provider that would be refused, with the reason (start-up checks)."""
    refusals = {name: configuration_refusal(_build(name)) for name in provider_names()}
    return {name: refusal for name, refusal in refusals.items() if refusal}


def _build(name: str) -> Provider:
    try:
        dotted = settings.KYC_PROVIDERS[name]
    except KeyError:
        raise UnknownProvider(name) from None
    return import_string(dotted)()
