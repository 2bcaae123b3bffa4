"""Sandbox-only control endpoints under control/ (../../README.md, "Control endpoints"): never part
of ShareID's API and never called by the app. Scripts and tests use them to finish onboardings,
read the callback log and the counters, expire fetch tokens and inject faults. Plain JSON, no
authentication, no CSRF (they are not browser forms, and the sandbox is never mounted in
production). Their paths are a contract other tools rely on.
"""

import json
import uuid
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import callbacks, faults, fetching, results, services
from ..models import Applicant, CallbackAttempt, Flow, SdkToken

LOG_LIMIT = 1000


def _fail(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _completion(data: dict[str, Any], *, allowed: tuple[str, ...]) -> tuple[list[str], float | None] | str:
    """(reasons, delay) from a complete call's body, or what is wrong with it."""
    reasons = data.get("reasons")
    if not isinstance(reasons, list) or not all(isinstance(code, str) for code in reasons):
        return "reasons is required: a list of reason codes ([] approves)"
    unknown = sorted(set(reasons) - set(allowed))
    if unknown:
        return f"unknown reason(s) {', '.join(unknown)}; known: {', '.join(allowed)}"
    delay = data.get("delay")
    if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0):
        return "delay must be a number of seconds, 0 or more"
    return reasons, (float(delay) if delay is not None else None)


@csrf_exempt
@require_POST
def applicant_complete(request: HttpRequest, applicant_id: str) -> JsonResponse:
    """{"reasons": [...], "ocr": {...}?, "doc_type": "…"?, "delay": seconds?} → the result, ready
    for the fetch after the analysis delay (or `delay` real seconds), and the callback then."""
    data = _body(request)
    if data is None:
        return _fail(400, "The body must be a JSON object.")
    completion = _completion(data, allowed=tuple(results.REASONS))
    if isinstance(completion, str):
        return _fail(400, completion)
    reasons, delay = completion
    ocr = data.get("ocr", {})
    if not isinstance(ocr, dict) or not all(isinstance(v, str) for v in ocr.values()):
        return _fail(400, "ocr must be an object of strings (document.ocr fields).")
    doc_type = data.get("doc_type", "id_card")
    if doc_type not in results.DOC_TYPES:
        return _fail(400, f"doc_type must be one of {', '.join(results.DOC_TYPES)}.")
    if not Applicant.objects.filter(id=applicant_id).exists():
        return _fail(404, f"No applicant {applicant_id}.")
    try:
        applicant = services.applicant_complete(
            applicant_id=applicant_id, reasons=reasons, ocr=ocr, doc_type=doc_type, delay=delay
        )
    except services.AlreadyCompleted:
        return _fail(409, f"The applicant {applicant_id} is already completed.")
    return JsonResponse({"applicant_id": applicant.id, "ready_at": applicant.ready_at.isoformat()})


@csrf_exempt
@require_POST
def flow_complete(request: HttpRequest, flow_id: str) -> JsonResponse:
    """{"reasons": [...], "delay": seconds?} for an authenticate flow (face reasons only)."""
    data = _body(request)
    if data is None:
        return _fail(400, "The body must be a JSON object.")
    completion = _completion(data, allowed=results.FACE_REASONS)
    if isinstance(completion, str):
        return _fail(400, completion)
    reasons, delay = completion
    flow = _flow(flow_id)
    if flow is None:
        return _fail(404, f"No flow {flow_id}.")
    try:
        flow = services.flow_complete(flow_id=flow.id, reasons=reasons, delay=delay)
    except services.AlreadyCompleted:
        return _fail(409, f"The flow {flow_id} is already completed.")
    return JsonResponse({"flow_id": str(flow.id), "ready_at": flow.ready_at.isoformat()})


def _flow(flow_id: str) -> Flow | None:
    try:
        return Flow.objects.filter(id=uuid.UUID(flow_id)).first()
    except ValueError:
        return None


def _progress(row: Applicant | Flow) -> dict[str, Any]:
    tokens = SdkToken.objects.filter(flow=row) if isinstance(row, Flow) else row.sdk_tokens.filter(flow=None)
    token = tokens.first()
    return {
        "callback": row.callback,
        "created_at": _iso(row.created_at),
        "sdk_token_used": bool(token and token.used_at),
        "sdk_token_expires_at": _iso(token.expires_at) if token else None,
        "left_at": _iso(row.left_at),
        "completed": row.completed_at is not None,
        "completed_at": _iso(row.completed_at),
        "ready_at": _iso(row.ready_at),
        "reasons": row.reasons,
        "fetch_count": row.fetch_count,
        "rate_limited_count": row.rate_limited_count,
        "last_fetch_at": _iso(row.last_fetch_at),
    }


@require_GET
def applicant_detail(request: HttpRequest, applicant_id: str) -> JsonResponse:
    applicant = Applicant.objects.filter(id=applicant_id).first()
    if applicant is None:
        return _fail(404, f"No applicant {applicant_id}.")
    return JsonResponse(
        {
            "applicant_id": applicant.id,
            "customer_data": applicant.customer_data,
            "callback_with_document_capture": applicant.callback_with_document_capture,
            "session_duration": applicant.session_duration,
            **_progress(applicant),
            "document": applicant.document or None,
            "flows": [str(flow.id) for flow in applicant.flows.all()],
        }
    )


@require_GET
def flow_detail(request: HttpRequest, flow_id: str) -> JsonResponse:
    flow = _flow(flow_id)
    if flow is None:
        return _fail(404, f"No flow {flow_id}.")
    return JsonResponse({"flow_id": str(flow.id), "applicant_id": flow.applicant_id, **_progress(flow)})


@require_GET
def callback_log(request: HttpRequest) -> JsonResponse:
    """Every callback attempt, oldest first; filters ?applicant_id=, ?flow_id=."""
    rows = CallbackAttempt.objects.select_related("callback").order_by("id")
    if "applicant_id" in request.GET:
        rows = rows.filter(callback__applicant_id=request.GET["applicant_id"])
    if "flow_id" in request.GET:
        flow = _flow(request.GET["flow_id"])
        rows = rows.filter(callback__flow=flow) if flow else rows.none()
    return JsonResponse({"callbacks": [callbacks.attempt_json(row) for row in rows[:LOG_LIMIT]]})


@csrf_exempt
@require_POST
def callbacks_send_due(request: HttpRequest) -> JsonResponse:
    """Attempt the pending callbacks that are due ({"all": true}: every pending one): development
    has no broker to wake at a retry's time."""
    data = _body(request)
    if data is None or not isinstance(data.get("all", False), bool):
        return _fail(400, 'The body must be {} or {"all": true|false}.')
    attempts = callbacks.send_due(everything=data.get("all", False))
    return JsonResponse({"callbacks": [callbacks.attempt_json(row) for row in attempts]})


@require_GET
def stats(request: HttpRequest) -> JsonResponse:
    return JsonResponse(fetching.stats())


@csrf_exempt
@require_POST
def stats_reset(request: HttpRequest) -> JsonResponse:
    fetching.stats_reset()
    return JsonResponse(fetching.stats())


@csrf_exempt
@require_POST
def tokens_expire(request: HttpRequest) -> JsonResponse:
    """Every fetch token issued so far expires now: the next fetch with one gets 401."""
    return JsonResponse({"expired": fetching.fetch_tokens_expire_all()})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def fault(request: HttpRequest) -> JsonResponse:
    """GET: the faults queued and the switches. POST, any of:
    {"kind": "start"|"fetch_token"|"fetch"|"authenticate", "count": N, "status": 500|503} or with
    "hang": seconds instead of "status" (hang, then 504, the call's work not done);
    {"images_only_in_callback": true|false}; {"callback_answer_ignored": true|false};
    {"clear": true} (every fault and switch off, before the rest of the body applies)."""
    if request.method == "GET":
        return JsonResponse(faults.faults_json())
    data = _body(request)
    if data is None:
        return _fail(400, "The body must be a JSON object.")
    known = {"kind", "count", "status", "hang", "clear", *faults.SWITCHES}
    if unknown := sorted(set(data) - known):
        return _fail(400, f"Unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}.")
    switches = {name: data[name] for name in faults.SWITCHES if name in data}
    if not all(isinstance(on, bool) for on in switches.values()) or not isinstance(
        data.get("clear", False), bool
    ):
        return _fail(400, "clear and the switches take true or false.")
    problem = _fault_problem(data) if "kind" in data else None
    if problem:
        return _fail(400, problem)
    if data.get("clear"):
        faults.faults_clear()
    for name, on in switches.items():
        faults.switch_set(name, on=on)
    if "kind" in data:
        faults.fault_add(
            kind=data["kind"],
            count=data.get("count", 1),
            status=data.get("status"),
            hang_seconds=float(data.get("hang") or 0),
        )
    return JsonResponse(faults.faults_json())


def _fault_problem(data: dict[str, Any]) -> str | None:
    if data["kind"] not in faults.KINDS:
        return f"kind must be one of {', '.join(faults.KINDS)}."
    count = data.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        return "count must be a whole number, 1 or more."
    status, hang = data.get("status"), data.get("hang")
    if (status is None) == (hang is None):
        return 'Give either "status" (500 or 503) or "hang" (seconds).'
    if status is not None and status not in faults.STATUSES:
        return "status must be 500 or 503."
    if hang is not None and (isinstance(hang, bool) or not isinstance(hang, int | float) or hang <= 0):
        return "hang must be a number of seconds, more than 0."
    return None
