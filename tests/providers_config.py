"""Provider options in tests: read and change an entry of settings.KYC_PROVIDERS.

A provider reads no setting of its own (providers/registry.py builds it from its entry), so a test
that gives Veriff another key or URL replaces the entry through `with_options`, with pytest-django's
`settings` fixture: the registry sees a new dict and builds fresh providers, and the fixture puts
the old one back after the test.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


def provider_options(settings: Any, name: str) -> dict[str, Any]:
    """A copy of the options of provider `name`."""
    _dotted, options = settings.KYC_PROVIDERS[name]
    return dict(options)


def veriff_options(settings: Any) -> SimpleNamespace:
    """Veriff's options as attributes: `veriff_options(settings).api_url`."""
    return SimpleNamespace(**provider_options(settings, "veriff"))


def with_options(settings: Any, name: str, **changes: Any) -> None:
    """Give provider `name` these options (the others kept), through a new KYC_PROVIDERS dict."""
    dotted, options = settings.KYC_PROVIDERS[name]
    unknown = set(changes) - set(options)
    if unknown:
        raise TypeError(f"{name} has no option {sorted(unknown)}")  # a typo would change nothing
    settings.KYC_PROVIDERS = {**settings.KYC_PROVIDERS, name: (dotted, {**options, **changes})}


def with_provider(settings: Any, name: str, dotted: str, **options: Any) -> None:
    """Enable one more provider (a test's fake one), beside the configured ones."""
    settings.KYC_PROVIDERS = {**settings.KYC_PROVIDERS, name: (dotted, options)}


def veriff_signature_headers(settings: Any, body: bytes) -> dict[str, str]:
    """X-AUTH-CLIENT and the signature over `body`, as Veriff signs for the configured integration."""
    from providers.veriff import signing  # here, so that the helper module needs no Django set up

    veriff = veriff_options(settings)
    return signing.signature_headers(body, veriff.api_key, veriff.api_secret, veriff.signature_scheme)
