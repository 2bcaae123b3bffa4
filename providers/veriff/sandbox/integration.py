"""The integration the sandbox serves: the key, secret and signature scheme Veriff holds for us.

At Veriff these are the integration's settings in its portal; here they are the options of the
app's Veriff entry in settings.KYC_PROVIDERS, so that the app and its sandbox always agree (and a
test that gives the app other credentials gives them to the sandbox too). Without such an entry
(a deployment that enables no Veriff) the sandbox serves its own published credentials.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from . import credentials

PROVIDER_CLASS = "providers.veriff.VeriffProvider"


@dataclass(frozen=True)
class Integration:
    api_key: str
    api_secret: str
    signature_scheme: str


def integration() -> Integration:
    for dotted, options in settings.KYC_PROVIDERS.values():
        if dotted == PROVIDER_CLASS:
            return Integration(
                api_key=options.get("api_key") or "",
                api_secret=options.get("api_secret") or "",
                signature_scheme=options.get("signature_scheme") or "hmac",
            )
    return Integration(
        api_key=credentials.API_KEY, api_secret=credentials.API_SECRET, signature_scheme="hmac"
    )
