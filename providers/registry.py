"""Providers are named in settings (KYC_PROVIDERS) and loaded by import_string."""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from providers.base import Provider


class UnknownProvider(LookupError):
    pass


@cache
def get_provider(name: str) -> Provider:
    try:
        dotted = settings.KYC_PROVIDERS[name]
    except KeyError:
        raise UnknownProvider(name) from None
    return import_string(dotted)()


def provider_names() -> list[str]:
    return list(settings.KYC_PROVIDERS)
