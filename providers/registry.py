"""Providers are configured in one dict, settings.KYC_PROVIDERS (django-payments' PAYMENT_VARIANTS):

    KYC_PROVIDERS = {"veriff": ("providers.veriff.VeriffProvider", {"api_url": ..., "api_key": ...})}

Each entry names a provider class (loaded by import_string) and the keyword arguments it is built
with: a provider reads no setting of its own, so a test or a deployment that changes a provider
changes this dict and nothing else. The instances are kept until KYC_PROVIDERS is replaced (the
dict itself is the cache's key: overriding the setting gives fresh providers, with no clearing).

This is also where a provider that may not serve real customers is refused: every webhook
authentication and every provider call gets its provider here, so one check covers both. In
production (KYC_ALLOW_SANDBOX_PROVIDERS off) a provider pointing at its sandbox would accept
webhooks signed with the sandbox's public secret, and one without credentials can do nothing right.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from providers.base import Provider, ProviderNotConfigured


class UnknownProvider(LookupError):
    pass


class _Built:
    """The providers built from one KYC_PROVIDERS dict, and their configuration problems."""

    def __init__(self, config: Mapping[str, Any] | None):
        self.config = config
        self.providers: dict[str, Provider] = {}
        self.problems: dict[str, list[str]] = {}


_built = _Built(None)


def _current() -> _Built:
    global _built
    config = settings.KYC_PROVIDERS
    built = _built
    if built.config is not config:
        # Another dict (a test's override, or the first use): start afresh. Two threads may both
        # build here; both results are equivalent and the last one stays.
        built = _built = _Built(config)
    return built


def _instance(name: str) -> Provider:
    built = _current()
    provider = built.providers.get(name)
    if provider is None:
        provider = built.providers.setdefault(name, _build(built.config, name))
        built.problems.setdefault(name, provider.configuration_problems())
    return provider


def get_provider(name: str) -> Provider:
    """The provider `name`, ready to use. Raises UnknownProvider, or ProviderNotConfigured when it
    points at its sandbox or lacks credentials and the sandboxes are not allowed."""
    provider = _instance(name)
    refusal = configuration_refusal(provider)
    if refusal:
        raise ProviderNotConfigured(refusal)
    return provider


def provider_names() -> list[str]:
    """The enabled providers, in the order of KYC_PROVIDERS."""
    return list(settings.KYC_PROVIDERS)


def provider_choices() -> list[tuple[str, str]]:
    """The enabled providers as (name, display name) pairs, for forms and filters."""
    return [(name, display_name(name)) for name in provider_names()]


def display_name(name: str) -> str:
    """The provider's name as staff read it; `name` itself for a provider not enabled (any longer)
    or that cannot be built (a list must show even then)."""
    try:
        provider = find_provider(name)
    except (ImproperlyConfigured, ImportError, TypeError, ValueError):
        provider = None
    return str(provider.display_name) if provider is not None else name


def find_provider(name: str) -> Provider | None:
    """The provider `name` for presentation (explaining its codes on a page), None when it is not
    enabled (any longer). Not refused when misconfigured: saying what a stored code means calls
    no one, and a case page must show even then."""
    return _instance(name) if name in settings.KYC_PROVIDERS else None


def configuration_refusal(provider: Provider) -> str:
    """Why `provider` is refused here, naming the variables to set; "" when it is not."""
    if settings.KYC_ALLOW_SANDBOX_PROVIDERS:
        return ""
    built = _current()
    name = next((name for name, built_one in built.providers.items() if built_one is provider), None)
    problems = built.problems[name] if name is not None else provider.configuration_problems()
    if not problems:
        return ""
    return (
        f"Provider {provider.name!r} points at its sandbox or lacks credentials: {'; '.join(problems)}. "
        "(A staging deployment that runs on the sandbox on purpose sets KYC_ALLOW_SANDBOX_PROVIDERS=true.)"
    )


def configuration_refusals() -> dict[str, str]:
    """Every enabled provider that would be refused, with the reason (start-up checks). An entry
    that cannot be built at all (a wrong path, an option its class does not take) is refused
    whatever KYC_ALLOW_SANDBOX_PROVIDERS says."""
    refusals = {}
    for name in provider_names():
        try:
            provider = _instance(name)
        except (ImproperlyConfigured, ImportError, TypeError, ValueError) as broken:
            refusals[name] = f"KYC_PROVIDERS[{name!r}] cannot be built: {broken}"
            continue
        refusals[name] = configuration_refusal(provider)
    return {name: refusal for name, refusal in refusals.items() if refusal}


# -- presentation: what a stored code means, for any provider a session names -----------------------


def explain_code(name: str, code: int | None) -> str:
    """Staff's words for a provider's decision code; "" for an unknown code or provider."""
    provider = find_provider(name)
    return provider.explain_code(code) if provider and code is not None else ""


def explain_reason(name: str, reason_code: str) -> str:
    """Staff's words for a provider's reason code; "" for an unknown code or provider."""
    provider = find_provider(name)
    return provider.explain_reason(str(reason_code)) if provider and reason_code else ""


def resubmission_message(name: str, reason_code: str) -> str:
    """The end user's words for a resubmission reason; "" when the provider has none for it."""
    provider = find_provider(name)
    return str(provider.resubmission_message(str(reason_code))) if provider and reason_code else ""


def _build(config: Mapping[str, Any], name: str) -> Provider:
    try:
        entry = config[name]
    except KeyError:
        raise UnknownProvider(name) from None
    try:
        dotted, options = entry
    except (TypeError, ValueError):
        raise ImproperlyConfigured(
            f"KYC_PROVIDERS[{name!r}] must be (dotted path of the provider class, {{options}}), not {entry!r}"
        ) from None
    provider = import_string(dotted)(**options)
    if not isinstance(provider, Provider):
        raise ImproperlyConfigured(f"KYC_PROVIDERS[{name!r}]: {dotted} is not a providers.base.Provider")
    return provider
