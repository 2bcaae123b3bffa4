"""ShareID behind the provider interface (providers/base.py): onboarding, polling, the untrusted
callback. See providers/shareid/README.md."""

from __future__ import annotations

import datetime as dt
from typing import Any

from providers.base import Provider, ProviderError


class ShareIDProvider(Provider):
    name = "shareid"
    webhook_kinds = frozenset({""})
    poll_interval = dt.timedelta(seconds=5)
    launch_per_visit = True

    def __init__(self, **config: Any):
        self.config = config

    def configuration_problems(self) -> list[str]:
        return []

    def create_session(self, request):
        raise ProviderError("ShareID: not built yet", permanent=True)

    def fetch_update(self, provider_session_id, *, provider_person_id=""):
        raise ProviderError("ShareID: not built yet", permanent=True)

    def list_media(self, provider_session_id, *, provider_person_id=""):
        raise ProviderError("ShareID: not built yet", permanent=True)

    def open_media(self, item, *, provider_person_id=""):
        raise ProviderError("ShareID: not built yet", permanent=True)

    def authenticate_webhook(self, request):
        raise NotImplementedError

    def webhook_dedupe_key(self, request):
        raise NotImplementedError

    def parse_webhook(self, request):
        raise NotImplementedError
