"""Sandbox-only control endpoints under /control/ (README, "The sandbox"): never part
of Veriff's API and never called by the app. Scripts and tests use them to force an outcome,
expire sessions and read or replay the webhook delivery log. Plain JSON, no signatures, no CSRF
(they are not browser forms, and the sandbox is never mounted in production).
"""

import json
import uuid
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import faults, large_video, payloads, services
from ..delivery import delivery_json
from ..errors import NOT_FOUND_MESSAGE
from ..models import SandboxAttempt, SandboxFault, SandboxSession, Status, WebhookDelivery
from . import client_ip

DECISION_STATUSES = (
    Status.APPROVED,
    Status.DECLINED,
    Status.RESUBMISSION_REQUESTED,
    Status.REVIEW,
    Status.ABANDONED,
    Status.EXPIRED,
)
REASONS_BY_STATUS = {
    Status.DECLINED: payloads.DECLINE_REASONS,
    Status.RESUBMISSION_REQUESTED: payloads.RESUBMIT_REASONS,
}
LOG_LIMIT = 500


@csrf_exempt
@require_POST
def force_decision(request: HttpRequest, session_id: str) -> JsonResponse:
    """{"status": …, "reasonCode": …} → the decision body, as the hosted page would decide.

    Options for the risk rules (README.md here): "riskLabels": ["document_crosslinked_with_fraud",
    …], "matchedSessionId": "<another session's id>", "pepSanctionMatch": "<text>", and
    "omitAttemptId": true (a decision without `attemptId`, as the seed's examples send)."""
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):  # RecursionError: nesting past the parser's depth
        return _fail(400, "The body must be JSON.")
    if not isinstance(data, dict):
        return _fail(400, "The body must be a JSON object.")
    status, reason_code = data.get("status"), data.get("reasonCode")
    if status not in DECISION_STATUSES:
        return _fail(400, f"status must be one of {', '.join(DECISION_STATUSES)}.")
    allowed = REASONS_BY_STATUS.get(status, {})
    if reason_code is not None and (isinstance(reason_code, bool) or reason_code not in allowed):
        codes = ", ".join(str(code) for code in allowed) or "none"
        return _fail(400, f"reasonCode for {status} must be one of: {codes}.")

    risk, problem = _risk_signals(data)
    if problem:
        return _fail(400, problem)

    session = _session_or_none(session_id)
    if session is None:
        return _fail(404, NOT_FOUND_MESSAGE)
    services.expire_if_stale(session.id)
    try:
        decision = services.session_decide(
            session.id,
            status=status,
            reason_code=reason_code,
            via=SandboxAttempt.Via.CONTROL,
            ip=client_ip(request),
            risk=risk,
        )
    except services.SessionClosed as closed:
        return _fail(409, f"The session is already {closed.status}.")
    return JsonResponse(decision)


def _risk_signals(data: dict) -> tuple[payloads.RiskSignals | None, str]:
    labels = data.get("riskLabels", [])
    if not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels):
        return None, "riskLabels must be a list of label names."
    matched, pep = data.get("matchedSessionId"), data.get("pepSanctionMatch")
    for name, value in (("matchedSessionId", matched), ("pepSanctionMatch", pep)):
        if value is not None and (not isinstance(value, str) or not value):
            return None, f"{name} must be a non-empty string."
    omit = data.get("omitAttemptId", False)
    if not isinstance(omit, bool):
        return None, "omitAttemptId must be true or false."
    return payloads.RiskSignals(
        risk_labels=tuple(labels), matched_session_id=matched, pep_sanction_match=pep, omit_attempt_id=omit
    ), ""


WATCHLIST_MATCH_STATUSES = ("possible_match", "no_match")
WATCHLIST_CHECK_TYPES = ("initial_result", "updated_result")


@csrf_exempt
@require_POST
def send_watchlist(request: HttpRequest, session_id: str) -> JsonResponse:
    """{"matchStatus": "possible_match"|"no_match", "lists": ["sanctions", "pep", "adverseMedia",
    "warnings", "fitnessProbity"], "checkType": "initial_result"|"updated_result"} → sends Veriff's
    watchlist-screening webhook about the session's person (one hit per list; defaults: a possible
    match on the sanctions list, initial result) and answers its body."""
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return _fail(400, "The body must be JSON.")
    if not isinstance(data, dict):
        return _fail(400, "The body must be a JSON object.")
    match_status = data.get("matchStatus", "possible_match")
    if match_status not in WATCHLIST_MATCH_STATUSES:
        return _fail(400, f"matchStatus must be one of {', '.join(WATCHLIST_MATCH_STATUSES)}.")
    lists = data.get("lists", ["sanctions"])
    if (
        not isinstance(lists, list)
        or not all(isinstance(x, str) and x in payloads.WATCHLIST_LISTS for x in lists)
        or (match_status == "possible_match" and not lists)
    ):
        return _fail(400, f"lists must name one or more of {', '.join(payloads.WATCHLIST_LISTS)}.")
    check_type = data.get("checkType", "initial_result")
    if check_type not in WATCHLIST_CHECK_TYPES:
        return _fail(400, f"checkType must be one of {', '.join(WATCHLIST_CHECK_TYPES)}.")
    session = _session_or_none(session_id)
    if session is None:
        return _fail(404, NOT_FOUND_MESSAGE)
    try:
        body = services.session_watchlist(
            session.id, match_status=match_status, lists=list(dict.fromkeys(lists)), check_type=check_type
        )
    except services.NotSubmitted:
        return _fail(409, "Screening needs a submitted attempt: decide or submit the session first.")
    return JsonResponse(body)


@csrf_exempt
@require_POST
def attach_large_video(request: HttpRequest, session_id: str) -> JsonResponse:
    """{"size": N} → a generated N-byte MP4 on the current attempt, streamed when downloaded
    (for load and streaming tests: the sandbox's own photos and video are a few KB)."""
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):  # RecursionError: nesting past the parser's depth
        return _fail(400, "The body must be JSON.")
    size = data.get("size") if isinstance(data, dict) else None
    if isinstance(size, bool) or not isinstance(size, int):
        return _fail(400, "size (bytes, an integer) is required.")
    if not large_video.MIN_SIZE <= size <= large_video.MAX_SIZE:
        return _fail(400, f"size must be between {large_video.MIN_SIZE} and {large_video.MAX_SIZE}.")
    session = _session_or_none(session_id)
    if session is None:
        return _fail(404, NOT_FOUND_MESSAGE)
    try:
        media = services.media_attach_large_video(session.id, size=size)
    except services.SessionClosed as closed:
        return _fail(409, f"The session is already {closed.status}.")
    except services.AlreadySubmitted:
        return _fail(409, "Media cannot be added after the session was submitted.")
    return JsonResponse({"status": "success", "video": payloads.media_item(media)}, status=201)


@csrf_exempt
@require_POST
def expire_session(request: HttpRequest, session_id: str) -> JsonResponse:
    """Run the 7-day rule on one session now, whatever its age: 9104 expired or abandoned."""
    session = _session_or_none(session_id)
    if session is None:
        return _fail(404, NOT_FOUND_MESSAGE)
    try:
        decision = services.session_expire(session.id)
    except services.SessionClosed as closed:
        return _fail(409, f"The session is already {closed.status}.")
    return JsonResponse(decision)


@csrf_exempt
@require_POST
def sweep(request: HttpRequest) -> JsonResponse:
    expired = services.sweep_expired_sessions()
    return JsonResponse({"status": "success", "expired": [{"id": sid, "status": st} for sid, st in expired]})


@require_GET
def webhook_log(request: HttpRequest) -> JsonResponse:
    """The delivery log, oldest first; `?session=<id>` narrows it to one session."""
    deliveries = WebhookDelivery.objects.order_by("id")
    if "session" in request.GET:
        try:
            deliveries = deliveries.filter(session_id=uuid.UUID(request.GET["session"]))
        except ValueError:
            return _fail(400, "session must be a session id (UUID).")
    rows = [delivery_json(d) for d in deliveries[:LOG_LIMIT]]
    return JsonResponse({"status": "success", "deliveries": rows})


@csrf_exempt
@require_POST
def redeliver(request: HttpRequest, delivery_id: int) -> JsonResponse:
    """Send a logged webhook again; answers the log row after the attempt (or once queued)."""
    try:
        services.delivery_redeliver(delivery_id)
    except WebhookDelivery.DoesNotExist:
        return _fail(404, NOT_FOUND_MESSAGE)
    return JsonResponse(
        {"status": "success", "delivery": delivery_json(WebhookDelivery.objects.get(id=delivery_id))}
    )


def _session_or_none(session_id: str) -> SandboxSession | None:
    try:
        return SandboxSession.objects.filter(id=uuid.UUID(session_id)).first()
    except ValueError:
        return None


def _fail(status: int, message: str) -> JsonResponse:
    body: dict[str, Any] = {"status": "fail", "message": message}
    return JsonResponse(body, status=status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def fault(request: HttpRequest) -> JsonResponse:
    """Outage injection for the provider API: GET reads the fault in force; POST
    {"mode": "error"|"timeout"|"slow"|"drop_webhooks"|"none", "seconds": …, "match": "/media/",
    "duration": …} sets it. `error` answers 500; `timeout` hangs `seconds` then answers; `slow`
    pauses `seconds` between media chunks; `drop_webhooks` loses outgoing webhooks (logged, never
    sent: a missed webhook); `match` limits it to paths (or webhook URLs) containing that text;
    `duration` ends it by itself after that many seconds; `none` clears it."""
    if request.method == "GET":
        return JsonResponse({"status": "success", "fault": faults.fault_json(_current_fault())})
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):  # RecursionError: nesting past the parser's depth
        return _fail(400, "The body must be JSON.")
    if not isinstance(data, dict):
        return _fail(400, "The body must be a JSON object.")
    mode = data.get("mode")
    if mode not in FAULT_MODES:
        return _fail(400, f"mode must be one of {', '.join(FAULT_MODES)}.")
    numbers = {}
    for name in ("seconds", "duration"):
        value = data.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            return _fail(400, f"{name} must be a number of seconds, 0 or more.")
        numbers[name] = float(value)
    if mode in ("timeout", "slow") and not numbers["seconds"]:
        return _fail(400, f"mode {mode} needs seconds.")
    match = data.get("match", "")
    if not isinstance(match, str):
        return _fail(400, "match must be a string.")
    if mode == "none":
        faults.fault_clear()
        return JsonResponse({"status": "success", "fault": faults.fault_json(None)})
    created = faults.fault_set(
        mode=mode, seconds=numbers["seconds"], match=match, duration=numbers["duration"] or None
    )
    return JsonResponse({"status": "success", "fault": faults.fault_json(created)})


FAULT_MODES = ("error", "timeout", "slow", "drop_webhooks", "none")


def _current_fault():
    return SandboxFault.objects.first()
