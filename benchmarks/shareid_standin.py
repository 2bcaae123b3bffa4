"""A stand-in ShareID client for benchmarks/shareid_polling.py, used only while providers/shareid/
has no client yet (`--provider standin`, the default until then; `--provider app` runs the real one):
the fetch of an onboarding result as the wire contract has it (a fetch token reused, Bearer, "not
ready" read from the body, 429 with Retry-After), on one keep-alive HTTP session per provider as the
real client keeps. Loaded by the poller processes through benchmarks/shareid_settings.py."""

from __future__ import annotations

import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from providers.base import ProviderError, ProviderRateLimited
from providers.shareid.provider import ShareIDProvider


class StandInShareID(ShareIDProvider):
    def __init__(self, **config: Any):
        super().__init__(**config)
        self.http = requests.Session()
        self.http.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=64))
        self._token = ""
        self._lock = threading.Lock()

    def _fetch_token(self) -> str:
        with self._lock:
            if not self._token:
                answer = self.http.post(
                    self.config["api_url"] + self.config["onboarding_fetch_token_path"],
                    json={"business_hash": self.config["business_hash"], "api_key": self.config["api_key"]},
                    timeout=self.config["timeout"],
                )
                self._token = answer.json()["token"]
            return self._token

    def fetch_update(self, provider_session_id, *, provider_person_id=""):
        try:
            answer = self.http.post(
                self.config["api_url"] + self.config["onboarding_fetch_path"],
                json={"applicant_id": provider_session_id},
                headers={"Authorization": f"Bearer {self._fetch_token()}"},
                timeout=self.config["timeout"],
            )
        except requests.RequestException as exc:
            raise ProviderError(f"ShareID fetch: {type(exc).__name__}") from exc
        if answer.status_code == 429:
            raise ProviderRateLimited(retry_after=float(answer.headers.get("Retry-After") or 5))
        if answer.status_code != 200:
            raise ProviderError(f"ShareID fetch: {answer.status_code}", permanent=answer.status_code < 500)
        body = answer.json()
        if "reasons" not in body:  # {"detail": "applicant not found"}: not ready
            return None
        raise ProviderError("the stand-in client reads no results", permanent=True)
