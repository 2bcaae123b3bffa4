"""What a delivery that fails authentication may cost us.

Anyone can post to a webhook URL, and such a post is not the provider's: we keep a trace of it
(headers, size, hash, a short prefix of the body) for whoever investigates a misconfigured key or
an attack, and no more. Three budgets, counted in the shared cache (Redis in production) so that
every process and server shares them:

- per source address, `KYC_WEBHOOK_REJECTED_PER_ADDRESS` rejected deliveries per window of
  `KYC_WEBHOOK_REJECTED_WINDOW` seconds; beyond that the address is answered 429 with Retry-After
  and nothing more of it is stored until the window ends (an IPv6 address counts with its /64,
  which one host usually holds whole);
- for everyone together, `KYC_WEBHOOK_REJECTED_BODY_BYTES_PER_HOUR` bytes of body prefixes per
  clock hour, beyond which a rejected delivery keeps its headers, size and hash only;
- for everyone together, `KYC_WEBHOOK_REJECTED_ROWS_PER_HOUR` stored rejected deliveries per clock
  hour, beyond which they are answered as before and not stored (traffic from many addresses).

Authentic deliveries never come here: they are authenticated first and always kept whole.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

HOUR = 3600


@dataclass(frozen=True)
class RejectedAdmission:
    """What to do with one rejected delivery."""

    store: bool  # keep a row for it at all
    body_bytes: int = 0  # how many bytes of its body the row keeps
    retry_after: int | None = None  # set: the address is over its limit, answer 429


def clock() -> float:
    return time.time()


def address_bucket(remote_addr: str | None) -> str:
    """The key an address is counted under: itself (IPv4), its /64 (IPv6)."""
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return "unknown"
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def rejected_delivery_admit(*, remote_addr: str | None, body_size: int) -> RejectedAdmission:
    """Count one rejected delivery against the budgets, and say how much of it may be kept."""
    now = clock()
    window = max(1, settings.KYC_WEBHOOK_REJECTED_WINDOW)
    hour = int(now // HOUR)
    try:
        per_address = _count(
            f"webhooks:rejected:addr:{address_bucket(remote_addr)}:{int(now // window)}", 1, window
        )
        if per_address > settings.KYC_WEBHOOK_REJECTED_PER_ADDRESS:
            return RejectedAdmission(store=False, retry_after=max(1, math.ceil(window - now % window)))
        if _count(f"webhooks:rejected:rows:{hour}", 1, HOUR) > settings.KYC_WEBHOOK_REJECTED_ROWS_PER_HOUR:
            return RejectedAdmission(store=False)
        prefix = min(body_size, settings.KYC_WEBHOOK_REJECTED_BODY_PREFIX)
        if prefix > 0:
            spent = _count(f"webhooks:rejected:bytes:{hour}", prefix, HOUR)
            if spent > settings.KYC_WEBHOOK_REJECTED_BODY_BYTES_PER_HOUR:
                prefix = 0
        return RejectedAdmission(store=True, body_bytes=max(prefix, 0))
    except Exception as exc:
        # The cache is unreachable: without a count nothing bounds what forged traffic stores, so
        # nothing is stored (the delivery is still answered as a rejection).
        logger.warning("rejected webhook not stored, budget cache unavailable: %s", type(exc).__name__)
        return RejectedAdmission(store=False)


def _count(key: str, amount: int, timeout: int) -> int:
    """Add `amount` to a counter that lives `timeout` seconds; its new value. `add` then `incr`
    keep it atomic where the cache is shared (Redis INCRBY)."""
    cache.add(key, 0, timeout)
    try:
        return cache.incr(key, amount)
    except ValueError:  # expired between the two calls: start it again
        cache.add(key, 0, timeout)
        return cache.incr(key, amount)


class WebhookBodyRefused(Exception):
    """A delivery's body not read: no Content-Length, or more than its URL accepts
    (Provider.max_webhook_body), or shorter than it said. `status`: 413 for the first two, 400
    for the last; `declared`: the Content-Length it gave, None without one."""

    def __init__(self, message: str, *, status: int, declared: int | None):
        super().__init__(message)
        self.status, self.declared = status, declared


def webhook_body_read(request, limit: int) -> bytes:
    """The body of a delivery to a URL that accepts up to `limit` bytes, in place of Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE (ShareID's callback carries base64 images, far above it). Its
    Content-Length is checked before a byte is read: without one, or over the bound, nothing is
    read. Raises WebhookBodyRefused."""
    raw = request.META.get("CONTENT_LENGTH") or ""
    try:
        declared = int(raw)
    except ValueError:
        raise WebhookBodyRefused("a Content-Length is required", status=413, declared=None) from None
    if declared < 0:
        raise WebhookBodyRefused("a Content-Length is required", status=413, declared=None)
    if declared > limit:
        raise WebhookBodyRefused(
            f"the body ({declared} bytes) is over this URL's bound of {limit} bytes",
            status=413,
            declared=declared,
        )
    # Django's request stream stops at the Content-Length (LimitedStream): one read, bounded.
    body = request.read(declared)
    if len(body) != declared:
        raise WebhookBodyRefused("the body is shorter than its Content-Length", status=400, declared=declared)
    return body
