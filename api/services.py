"""API keys and idempotency: the only writes of the api app."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from api.models import ApiKey, IdempotencyRecord
from kyc.audit import audit_record

KEY_PREFIX = "kyc_"
# Last-used time is written at most this often per key, so a busy client does not turn every
# read into a write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def _hash(raw_key: str) -> str:
    # A key is 256 random bits: a plain SHA-256 is enough (no salt or slow hash is needed for a
    # secret that cannot be guessed), and it lets a request find its key with one indexed lookup.
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_create(*, name: str, scopes: list[str], actor=None) -> tuple[ApiKey, str]:
    """Create a key; returns it with the raw key, which is never stored and never shown again."""
    unknown = set(scopes) - set(ApiKey.Scope.values)
    if unknown or not scopes:
        raise ValueError(f"scopes must be among {', '.join(ApiKey.Scope.values)}")
    prefix = KEY_PREFIX + secrets.token_hex(4)
    raw_key = f"{prefix}_{secrets.token_urlsafe(32)}"
    ordered = [s for s in ApiKey.Scope.values if s in scopes]
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name, prefix=prefix, hashed_key=_hash(raw_key), scopes=ordered, created_by=actor
        )
        audit_record(
            action="api_key.created",
            actor=actor,
            object=key,
            after={"name": name, "prefix": prefix, "scopes": ordered},
        )
    return key, raw_key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor=None) -> ApiKey:
    # Locked so that two revocations record one revocation time and one audit entry.
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is not None:
        return api_key
    api_key.revoked_at = timezone.now()
    api_key.revoked_by = actor
    api_key.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(action="api_key.revoked", actor=actor, object=api_key, after={"prefix": api_key.prefix})
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key for a presented raw key, or None (unknown or revoked)."""
    if not raw_key.startswith(KEY_PREFIX) or len(raw_key) > 200:
        return None
    api_key = ApiKey.objects.filter(hashed_key=_hash(raw_key), revoked_at__isnull=True).first()
    if api_key is None:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or api_key.last_used_at < now - LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


# --- idempotency ----------------------------------------------------------------------------
class IdempotencyConflict(Exception):
    """The key was used before with another request, or its first request is still running."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind  # "mismatch" | "in_progress"


@dataclass(frozen=True)
class IdempotencyClaim:
    record: IdempotencyRecord
    replay: bool  # True: the stored response is the answer; nothing is to be done


def _ttl() -> dt.timedelta:
    return dt.timedelta(seconds=settings.KYC_IDEMPOTENCY_TTL)


def _stale_after() -> dt.timedelta:
    return dt.timedelta(seconds=settings.KYC_IDEMPOTENCY_LOCK_TIMEOUT)


def idempotency_claim(*, client: str, key: str, fingerprint: str, method: str, path: str) -> IdempotencyClaim:
    """Claim `key` for this request, or find the response of the request that used it first.

    The claim is committed before the work starts, so a concurrent request with the same key
    finds it (and is told to wait) instead of doing the work a second time.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                client=client, key=key, fingerprint=fingerprint, method=method, path=path
            )
        return IdempotencyClaim(record=record, replay=False)
    except IntegrityError:
        pass
    with transaction.atomic():
        # Locked: two retries arriving after the first request died must not both take it over.
        record = IdempotencyRecord.objects.select_for_update().get(client=client, key=key)
        expired = record.created_at < now - _ttl()
        abandoned = (
            record.state == IdempotencyRecord.State.IN_PROGRESS and record.created_at < now - _stale_after()
        )
        if expired or abandoned:
            # An expired key is free again; a request that died mid-way left its claim behind.
            record.fingerprint, record.method, record.path = fingerprint, method, path
            record.state = IdempotencyRecord.State.IN_PROGRESS
            record.response_status, record.response_body, record.response_location = None, None, ""
            record.created_at, record.completed_at = now, None
            record.save()
            return IdempotencyClaim(record=record, replay=False)
    if record.fingerprint != fingerprint:
        raise IdempotencyConflict("mismatch")
    if record.state == IdempotencyRecord.State.IN_PROGRESS:
        raise IdempotencyConflict("in_progress")
    return IdempotencyClaim(record=record, replay=True)


def idempotency_complete(*, record: IdempotencyRecord, status: int, body, location: str = "") -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        state=IdempotencyRecord.State.COMPLETED,
        response_status=status,
        response_body=body,
        response_location=location[:500],
        completed_at=timezone.now(),
    )


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """The request failed: nothing was created, so the key may be used again."""
    IdempotencyRecord.objects.filter(pk=record.pk, state=IdempotencyRecord.State.IN_PROGRESS).delete()


def idempotency_purge(*, older_than: dt.timedelta | None = None) -> int:
    cutoff = timezone.now() - (older_than or _ttl())
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def idempotency_forget_customer(*, customer_id: int, session_refs: list[str], review_ids: list[int]) -> int:
    """Delete the stored requests and responses about one customer (erasure): a customer's creation
    (its response holds the name and email), anything under /customers/{id}/, a case's reviews and
    their confirmations (notes). The erasure's own record stays: it holds no personal data and is
    what makes a retried erasure request answer the same."""
    about = Q(path__startswith=f"/api/v1/customers/{customer_id}/") | Q(
        path="/api/v1/customers/", response_body__id=customer_id
    )
    for ref in session_refs:
        about |= Q(path__startswith=f"/api/v1/staff/cases/{ref}/")
    for review_id in review_ids:
        about |= Q(path__startswith=f"/api/v1/staff/reviews/{review_id}/")
    deleted, _ = IdempotencyRecord.objects.filter(about).exclude(path__endswith="/erasure/").delete()
    return deleted
