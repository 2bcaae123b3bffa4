"""Our webhook subscriptions at Solaris: its `/v1/webhooks` API, and the sealed secrets we keep
(README.md here, "Subscriptions"; the command is management/commands/solaris_webhooks.py).

Solaris shows a subscription's secret once, when it is created, and a subscription's URL cannot
change: a new URL is a new subscription (a new id and a new secret). `subscriptions_sync` makes
Solaris's list match what the app needs, and is idempotent: a second run changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests
from django.db import transaction

from providers.base import ProviderError
from providers.oauth import ClientCredentials
from providers.solaris.models import WebhookSubscription
from providers.solaris.sealing import SealBroken, SecretSeal

logger = logging.getLogger(__name__)

IDENTIFICATION = "IDENTIFICATION"
PERSON_CHANGED = "PERSON_CHANGED"
PERSON_DELETED = "PERSON_DELETED"
#: The notifications the app acts on (README.md here, "Webhooks").
EVENT_TYPES = (IDENTIFICATION, PERSON_CHANGED, PERSON_DELETED)
# Solaris pages its list (`page[number]`, `page[size]`); its maximum size is not published.
PAGE_SIZE = 100
MAX_PAGES = 100


class WebhooksApi:
    """Solaris's /v1/webhooks, called with the partner's OAuth2 token (providers/oauth.py)."""

    def __init__(self, *, api_url: str, credentials: ClientCredentials):
        self.base = api_url.rstrip("/") + "/v1/webhooks"
        self.credentials = credentials

    def list(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for number in range(1, MAX_PAGES + 1):
            page = self._call("GET", self.base, params={"page[number]": number, "page[size]": PAGE_SIZE})
            rows = page.json() if page.content else []
            if not isinstance(rows, list):
                raise ProviderError("Solaris listed its webhooks as something else than a list")
            found.extend(row for row in rows if isinstance(row, dict))
            if len(rows) < PAGE_SIZE:
                break
        return found

    def create(self, *, event_type: str, url: str) -> dict[str, Any]:
        """Solaris calls `url` (the handshake) before it answers: the receiver must be up."""
        created = self._call("POST", self.base, json={"event_type": event_type, "url": url}).json()
        if not isinstance(created, dict) or not created.get("id") or not created.get("secret"):
            raise ProviderError("Solaris created a webhook subscription without an id or a secret")
        return created

    def delete(self, subscription_id: str) -> bool:
        """False when Solaris has no such subscription (deleted or cancelled already)."""
        response = self._call("DELETE", f"{self.base}/{subscription_id}", missing_ok=True)
        return response.status_code != 404

    def _call(self, method: str, url: str, *, missing_ok: bool = False, **kwargs) -> requests.Response:
        try:
            response = self.credentials.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise ProviderError(f"Solaris unreachable ({method} {url}): {type(exc).__name__}") from exc
        if response.status_code == 404 and missing_ok:
            return response
        if not 200 <= response.status_code < 300:
            raise ProviderError(
                f"Solaris answered {response.status_code} to {method} {url}: {_errors_text(response)}",
                permanent=400 <= response.status_code < 500 and response.status_code != 429,
                status_code=response.status_code,
            )
        return response


def _errors_text(response: requests.Response) -> str:
    """Solaris's `errors[]` body in one line (README.md here, "Errors")."""
    try:
        errors = response.json().get("errors") or []
        return "; ".join(f"{e.get('code', '')}: {e.get('detail') or e.get('title') or ''}" for e in errors)
    except (ValueError, AttributeError, TypeError):
        return response.text[:200]


# -- the sealed store --------------------------------------------------------------------------


def subscription_secret(subscription_id: str, *, seal: SecretSeal) -> tuple[str, str] | None:
    """The event type and the opened secret of one of our subscriptions; None when we do not hold
    it. Raises SealBroken when it is held but none of the keys opens it."""
    row = (
        WebhookSubscription.objects.filter(subscription_id=subscription_id)
        .values_list("event_type", "sealed_secret")
        .first()
    )
    if row is None:
        return None
    event_type, sealed = row
    return event_type, seal.open(sealed)


def subscription_store(*, created: dict[str, Any], seal: SecretSeal) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        subscription_id=str(created["id"]),
        event_type=str(created.get("event_type", "")),
        url=str(created.get("url", "")),
        sealed_secret=seal.seal(str(created["secret"])),
    )


def _opens(row: WebhookSubscription, seal: SecretSeal) -> bool:
    try:
        seal.open(row.sealed_secret)
    except SealBroken:
        return False
    return True


@dataclass(frozen=True)
class SyncStep:
    """One thing `subscriptions_sync` did (or found already right: "kept")."""

    action: str  # kept | created | replaced | removed | forgotten
    event_type: str
    subscription_id: str
    url: str
    why: str = ""


def subscriptions_sync(
    *, api: WebhooksApi, seal: SecretSeal, url: str, event_types: tuple[str, ...] = EVENT_TYPES
) -> list[SyncStep]:
    """Make our subscriptions at Solaris those the app needs, at `url`, with their secrets kept.

    Kept: a subscription at `url` that Solaris still has and whose secret we can open. Created:
    one missing. A subscription at another URL (KYC_PUBLIC_URL changed) is deleted after its
    replacement exists, so that no notification falls between the two; one at `url` that we
    cannot authenticate (its secret lost or sealed with a key we no longer have) is deleted first,
    since Solaris keeps one subscription per event type and URL. Ours that Solaris no longer has
    (cancelled after a 410, deleted by hand) are forgotten. Subscriptions of others (another
    deployment's URL) are left alone.
    """
    if seal.problems():
        raise SealBroken(seal.problems()[0])  # before Solaris makes a secret we could not keep
    remote = {str(s.get("id")): s for s in api.list()}
    steps: list[SyncStep] = []
    for event_type in event_types:
        kept: WebhookSubscription | None = None
        old_urls: list[WebhookSubscription] = []
        for row in WebhookSubscription.objects.filter(event_type=event_type).order_by("-created_at"):
            live = remote.get(row.subscription_id)
            if live is None:
                row.delete()
                steps.append(
                    SyncStep("forgotten", event_type, row.subscription_id, row.url, "not at Solaris")
                )
            elif row.url == url and kept is None and _opens(row, seal):
                kept = row
            elif row.url == url:
                _delete(api, row)
                why = "a second one at this URL" if kept else "its secret cannot be opened"
                steps.append(SyncStep("replaced", event_type, row.subscription_id, row.url, why))
            else:
                old_urls.append(row)
        if kept is not None:
            steps.append(SyncStep("kept", event_type, kept.subscription_id, url))
        else:
            held = set(WebhookSubscription.objects.values_list("subscription_id", flat=True))
            for live in remote.values():
                if live.get("event_type") == event_type and live.get("url") == url and live["id"] not in held:
                    # Ours by its URL, but its secret is not here (a database restored from before
                    # it): it can never be authenticated.
                    api.delete(str(live["id"]))
                    steps.append(
                        SyncStep("replaced", event_type, str(live["id"]), url, "its secret is not held here")
                    )
            # Never inside a transaction: Solaris's handshake reaches our receiver while we wait,
            # and in development "Solaris" is this app on the same SQLite database, whose write
            # lock (taken at BEGIN, config/settings.py) it would wait on until we time out.
            created = subscription_store(created=api.create(event_type=event_type, url=url), seal=seal)
            steps.append(SyncStep("created", event_type, created.subscription_id, url))
        for row in old_urls:
            _delete(api, row)
            steps.append(
                SyncStep("removed", event_type, row.subscription_id, row.url, f"the URL is now {url}")
            )
    return steps


def _delete(api: WebhooksApi, row: WebhookSubscription) -> None:
    api.delete(row.subscription_id)
    row.delete()


def subscription_delete(*, api: WebhooksApi, subscription_id: str) -> tuple[bool, bool]:
    """Delete one subscription at Solaris and here: whether it was there, and whether it was here."""
    at_solaris = api.delete(subscription_id)
    here, _ = WebhookSubscription.objects.filter(subscription_id=subscription_id).delete()
    return at_solaris, bool(here)


def subscriptions_reseal(*, seal: SecretSeal) -> int:
    """Seal every kept secret again with the first key (after a new key was put first); how many.
    Raises SealBroken, changing nothing, when a secret opens with none of the keys."""
    with transaction.atomic():
        rows = list(WebhookSubscription.objects.select_for_update())
        resealed = [(row, seal.reseal(row.sealed_secret)) for row in rows]
        for row, sealed in resealed:
            WebhookSubscription.objects.filter(pk=row.pk).update(sealed_secret=sealed)
    return len(resealed)


@dataclass(frozen=True)
class Listed:
    """A subscription as `solaris_webhooks list` shows it: never its secret."""

    subscription_id: str
    event_type: str
    url: str
    at_solaris: bool
    held: bool  # its secret is kept here
    opens: bool  # and our keys open it


def subscriptions_list(*, api: WebhooksApi, seal: SecretSeal) -> list[Listed]:
    remote = {str(s.get("id")): s for s in api.list()}
    ours = {row.subscription_id: row for row in WebhookSubscription.objects.all()}
    listed = [
        Listed(row.subscription_id, row.event_type, row.url, sid in remote, True, _opens(row, seal))
        for sid, row in ours.items()
    ]
    listed += [
        Listed(sid, str(s.get("event_type", "")), str(s.get("url", "")), True, False, False)
        for sid, s in remote.items()
        if sid not in ours
    ]
    return sorted(listed, key=lambda s: (s.event_type, s.url, s.subscription_id))
