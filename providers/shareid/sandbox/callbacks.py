"""The callback ShareID POSTs when a result is ready, and its attempt log (../README.md, "Callback").

The URL is used exactly as the business gave it, query string included (not re-quoted), with
`Content-Type: application/json` and the result plus `customer_data` as its body (images only when
the onboarding asked for callback_with_document_capture). ShareID waits 3000 ms for an exact 200:
any other status, a redirect, an error or a slower answer is a failure, retried 5 min, 1 h and then
24 h after the failed attempt (× SIM_TIME_SCALE), and then never again. Sending never happens inside
a database transaction: in development the receiving app shares the SQLite database.
"""

import datetime as dt
import json
import time

import requests
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from . import faults, results
from .models import Applicant, Callback, CallbackAttempt, Flow, Switch

TIMEOUT_SECONDS = 3.0
RETRY_DELAYS = (dt.timedelta(minutes=5), dt.timedelta(hours=1), dt.timedelta(hours=24))
# Longer than one attempt can take, so a live sender never loses its lease.
LEASE = dt.timedelta(seconds=10 * TIMEOUT_SECONDS)
ERROR_EXCERPT = 300

_http = requests.Session()
_http.headers["User-Agent"] = "shareid-sandbox (KYC Desk)"


def callback_record(*, applicant: Applicant, flow: Flow | None, url: str, due: dt.datetime) -> Callback:
    """The callback of a result that becomes ready at `due`; the caller schedules it on commit."""
    return Callback.objects.create(applicant=applicant, flow=flow, url=url, next_attempt_at=due)


def callback_body(callback: Callback) -> bytes:
    applicant = callback.applicant
    if callback.flow is not None:
        result = results.authenticate_result(callback.flow)
    else:
        result = results.onboarding_result(applicant, with_images=applicant.callback_with_document_capture)
    return json.dumps({**result, "customer_data": applicant.customer_data}, separators=(",", ":")).encode()


def callback_send(callback_id: int) -> tuple[CallbackAttempt | None, float | None]:
    """One attempt, logged. Returns it (None when another worker holds the callback or it is not
    pending) and the seconds until the next attempt (None when there is none)."""
    now = timezone.now()
    # Claimed with a conditional update: of two workers holding the same id, one sends.
    claimed = (
        Callback.objects.filter(Q(locked_until=None) | Q(locked_until__lt=now))
        .filter(id=callback_id, state=Callback.State.PENDING)
        .update(locked_until=now + LEASE)
    )
    if not claimed:
        return None, None
    callback = Callback.objects.select_related("applicant", "flow").get(id=callback_id)
    body = callback_body(callback)
    attempt = callback.attempts + 1
    sent_at = timezone.now()
    started = time.monotonic()
    status_code, error = _post(callback.url, body)
    elapsed = time.monotonic() - started
    if status_code == 200 and elapsed > TIMEOUT_SECONDS:
        error = (
            f"answered 200 after {elapsed * 1000:.0f} ms, over the {TIMEOUT_SECONDS * 1000:.0f} ms allowed"
        )
    finished = timezone.now()
    wait: dt.timedelta | None = None
    if status_code == 200 and not error:
        state = Callback.State.DELIVERED
    elif faults.switch_on(Switch.Name.CALLBACK_ANSWER_IGNORED):
        state = Callback.State.SENT
    elif attempt <= len(RETRY_DELAYS):
        state, wait = Callback.State.PENDING, RETRY_DELAYS[attempt - 1] * settings.SIM_TIME_SCALE
    else:
        state = Callback.State.FAILED
    next_at = finished + wait if wait is not None else None
    logged = CallbackAttempt.objects.create(
        callback=callback,
        attempt=attempt,
        sent_at=sent_at,
        status_code=status_code,
        duration_ms=round(elapsed * 1000),
        error=error[:ERROR_EXCERPT],
        next_attempt_at=next_at,
    )
    Callback.objects.filter(id=callback.id).update(
        attempts=attempt, state=state, next_attempt_at=next_at or callback.next_attempt_at, locked_until=None
    )
    return logged, (wait.total_seconds() if wait is not None else None)


def _post(url: str, body: bytes) -> tuple[int | None, str]:
    request = _http.prepare_request(
        requests.Request("POST", url, data=body, headers={"Content-Type": "application/json"})
    )
    # Exactly as given: requests re-quotes a URL it prepares (%7E becomes ~), and the business's
    # endpoint may read its query variables byte for byte.
    request.url = url
    try:
        # A redirect is "another status" to ShareID, not a new address to post to.
        response = _http.send(request, timeout=TIMEOUT_SECONDS, allow_redirects=False)
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if response.status_code != 200:
        return response.status_code, f"HTTP {response.status_code}: {response.text[:ERROR_EXCERPT]}"
    return response.status_code, ""


def send_due(*, everything: bool = False) -> list[CallbackAttempt]:
    """Attempt every pending callback whose time has come (or all of them): the retries of
    development, where tasks run in-process and cannot wait. Returns the attempts made."""
    pending = Callback.objects.filter(state=Callback.State.PENDING)
    if not everything:
        pending = pending.filter(next_attempt_at__lte=timezone.now())
    attempts = []
    for callback_id in pending.order_by("id").values_list("id", flat=True):
        attempt, _ = callback_send(callback_id)
        if attempt is not None:
            attempts.append(attempt)
    return attempts


def attempt_json(attempt: CallbackAttempt) -> dict:
    callback = attempt.callback
    return {
        "id": attempt.id,
        "callback_id": callback.id,
        "applicant_id": callback.applicant_id,
        "flow_id": str(callback.flow_id) if callback.flow_id else None,
        "url": callback.url,
        "attempt": attempt.attempt,
        "status_code": attempt.status_code,
        "duration_ms": attempt.duration_ms,
        "error": attempt.error,
        "sent_at": attempt.sent_at.isoformat(),
        "next_attempt_at": attempt.next_attempt_at.isoformat() if attempt.next_attempt_at else None,
    }
