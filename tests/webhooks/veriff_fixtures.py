"""Veriff payloads shaped as other people's code sends them (public SDKs' and integrations' test
fixtures: decisions without `attemptId`, approvals with `riskLabels`, the watchlist-screening
webhook), kept as files in fixtures/veriff/, and a way to post them signed through the real view."""

from __future__ import annotations

import json
from pathlib import Path

from tests.providers_config import veriff_signature_headers

FIXTURES = Path(__file__).parent / "fixtures" / "veriff"
SESSION_ID = "f04bdb47-d3be-4b28-b028-a652feb060b5"
ATTEMPT_ID = "e30122d1-740b-4764-853f-470374a7abf4"
URLS = {
    "event": "/webhooks/veriff/events/",
    "decision": "/webhooks/veriff/decision/",
    "watchlist": "/webhooks/veriff/watchlist/",
}


def body(name: str, **changes) -> bytes:
    """The fixture's bytes; `changes` replace top-level keys (or verification's, with `v_`)."""
    raw = (FIXTURES / f"{name}.json").read_bytes().strip()
    if not changes:
        return raw
    data = json.loads(raw)
    for key, value in changes.items():
        if key.startswith("v_"):
            data["verification"][key[2:]] = value
        else:
            data[key] = value
    return json.dumps(data, separators=(",", ":")).encode()


def post(client, settings, kind: str, payload: bytes):
    headers = veriff_signature_headers(settings, payload)
    return client.post(URLS[kind], data=payload, content_type="application/json", headers=headers)
