"""Fetch tokens and fetches of results, with ShareID's rules (../README.md, "Fetching"), and the
totals that control/stats reads.

- A fetch token lives SHAREID_SANDBOX_FETCH_TOKEN_SECONDS (ShareID: 10 minutes) × SIM_TIME_SCALE
  and opens the fetches of its own kind (onboarding or authenticate); then 401.
- A second fetch of one applicant (or flow) less than 5 real seconds after the last one answered is
  refused with 429 and Retry-After. Not scaled: it is ShareID's protection of its servers, and the
  app's poller must keep it whatever the sandbox's clock does.
- Until the result is ready (and for an unknown applicant) the answer is 200 "applicant not found".
"""

import datetime as dt
import math
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from . import faults, results
from .models import Applicant, Counter, FetchToken, Flow, Switch

RATE_WINDOW = dt.timedelta(seconds=5)
TOKENS_ISSUED = "fetch_tokens_issued"
UNAUTHORIZED = "unauthorized"
UNKNOWN_FETCHES = "unknown_fetches"  # fetches of ids the sandbox never issued


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"too many calls; retry after {retry_after} s")
        self.retry_after = retry_after


def fetch_token_lifetime() -> dt.timedelta:
    return dt.timedelta(seconds=settings.SHAREID_SANDBOX_FETCH_TOKEN_SECONDS * settings.SIM_TIME_SCALE)


def fetch_token_issue(*, kind: str) -> FetchToken:
    now = timezone.now()
    token = FetchToken.objects.create(kind=kind, issued_at=now, expires_at=now + fetch_token_lifetime())
    counter_add(TOKENS_ISSUED)
    return token


def fetch_token_valid(token: str, *, kind: str) -> bool:
    return FetchToken.objects.filter(token=token, kind=kind, expires_at__gt=timezone.now()).exists()


def fetch_tokens_expire_all() -> int:
    now = timezone.now()
    return FetchToken.objects.filter(expires_at__gt=now).update(expires_at=now)


def onboarding_fetch(*, applicant_id: str) -> dict[str, Any] | None:
    """The applicant's result, or None while it is not ready. Raises RateLimited."""
    if not _fetch_accept(Applicant, applicant_id):
        return None
    # The usual answer is "not ready": one column tells, the rest is read only for a result.
    ready_at = Applicant.objects.filter(id=applicant_id).values_list("ready_at", flat=True).get()
    if ready_at is None or ready_at > timezone.now():
        return None
    applicant = Applicant.objects.get(id=applicant_id)
    with_images = applicant.callback_with_document_capture and not faults.switch_on(
        Switch.Name.IMAGES_ONLY_IN_CALLBACK
    )
    return results.onboarding_result(applicant, with_images=with_images)


def authenticate_fetch(*, flow_id: str) -> dict[str, Any] | None:
    try:
        flow_uuid = uuid.UUID(flow_id)
    except ValueError:
        counter_add(UNKNOWN_FETCHES)
        return None
    if not _fetch_accept(Flow, flow_uuid):
        return None
    flow = Flow.objects.get(id=flow_uuid)
    if flow.ready_at is None or flow.ready_at > timezone.now():
        return None
    return results.authenticate_result(flow)


def _fetch_accept(model: type[Applicant] | type[Flow], object_id: Any) -> bool:
    """Count the fetch of `object_id` if the 5-second rule allows it (True), or False when the id
    is unknown. Raises RateLimited."""
    now = timezone.now()
    # One conditional update decides: of two fetches racing within the window, one is answered.
    accepted = (
        model.objects.filter(pk=object_id)
        .filter(Q(last_fetch_at=None) | Q(last_fetch_at__lte=now - RATE_WINDOW))
        .update(last_fetch_at=now, fetch_count=F("fetch_count") + 1)
    )
    if accepted:
        return True
    last = model.objects.filter(pk=object_id).values_list("last_fetch_at", flat=True).first()
    if last is None:
        counter_add(UNKNOWN_FETCHES)
        return False
    model.objects.filter(pk=object_id).update(rate_limited_count=F("rate_limited_count") + 1)
    raise RateLimited(max(1, math.ceil((last + RATE_WINDOW - now).total_seconds())))


def counter_add(name: str) -> None:
    if Counter.objects.filter(name=name).update(value=F("value") + 1):
        return
    try:
        with transaction.atomic():
            Counter.objects.create(name=name, value=1)
    except IntegrityError:
        # Another request created it first.
        Counter.objects.filter(name=name).update(value=F("value") + 1)


def _counter(name: str) -> int:
    return Counter.objects.filter(name=name).values_list("value", flat=True).first() or 0


def stats() -> dict[str, int]:
    """Totals since the last reset: fetch tokens issued, fetches answered (ready or not), fetches
    refused with 429, calls refused with 401."""
    onboarding = Applicant.objects.aggregate(fetches=Sum("fetch_count"), limited=Sum("rate_limited_count"))
    authenticate = Flow.objects.aggregate(fetches=Sum("fetch_count"), limited=Sum("rate_limited_count"))
    return {
        "fetch_tokens_issued": _counter(TOKENS_ISSUED),
        "fetches": (onboarding["fetches"] or 0) + (authenticate["fetches"] or 0) + _counter(UNKNOWN_FETCHES),
        "rate_limited": (onboarding["limited"] or 0) + (authenticate["limited"] or 0),
        "unauthorized": _counter(UNAUTHORIZED),
    }


def stats_reset() -> None:
    """Every total back to 0, with the per-applicant counts they are summed from (the 5-second rule
    itself is untouched: a reset does not allow an early fetch)."""
    Counter.objects.update(value=0)
    Applicant.objects.update(fetch_count=0, rate_limited_count=0)
    Flow.objects.update(fetch_count=0, rate_limited_count=0)
