"""Sandbox-only control endpoints under /control/ (../../README.md, "Control endpoints"): never
part of Solaris's API and never called by the app. Scripts and tests use them to decide an
identification, announce person events, read the delivery log, expire tokens and inject faults.
Plain JSON, no authentication, no CSRF (they are not browser forms, and the sandbox is never
mounted in production).

The paths of `identifications/<id>/outcome`, `persons/<id>/changed|deleted` and `deliveries` are a
contract other tools rely on.
"""

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import auth, delivery, faults, payloads, services
from ..models import AccessToken, Delivery, Identification, Person, Screening, TokenRequest

LOG_LIMIT = 500


def _fail(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


@csrf_exempt
@require_POST
def identification_outcome(request: HttpRequest, identification_id: str) -> JsonResponse:
    """{"status": "successful"|"failed"|"aborted"|"expired"|"canceled"} (also "pending_successful"
    or "pending_failed", to stop at IDnow's verdict) → the identification after the walk, and the
    statuses it went through, each announced by an IDENTIFICATION notification."""
    data = _body(request)
    if data is None:
        return _fail(400, "The body must be a JSON object.")
    status = data.get("status")
    if status not in services.OUTCOMES:
        return _fail(400, f"status must be one of {', '.join(services.OUTCOMES)}.")
    if not Identification.objects.filter(id=identification_id).exists():
        return _fail(404, f"No identification {identification_id}.")
    try:
        steps = services.identification_outcome(identification_id, status=status)
    except services.TransitionRefused as refused:
        return _fail(409, f"The identification is {refused.current}; it cannot become {refused.wanted}.")
    found = Identification.objects.get(id=identification_id)
    return JsonResponse({"identification": payloads.identification_json(found), "statuses": steps})


@require_GET
def identification_detail(request: HttpRequest, identification_id: str) -> JsonResponse:
    """The identification as the API shows it, plus what the API never shows: the device data the
    partner passed (device monitoring)."""
    found = Identification.objects.filter(id=identification_id).first()
    if found is None:
        return _fail(404, f"No identification {identification_id}.")
    return JsonResponse(
        {"identification": payloads.identification_json(found), "device_data": found.device_data}
    )


@csrf_exempt
@require_POST
def person_changed(request: HttpRequest, person_id: str) -> JsonResponse:
    """Optional body {"screening_progress": "POTENTIAL_MATCH", "risk_classification_status": …,
    "customer_vetting_status": …} changes those fields first; PERSON_CHANGED is sent either way."""
    data = _body(request)
    if data is None:
        return _fail(400, "The body must be a JSON object.")
    changes = {field: data[field] for field in services.SCREENING_FIELDS if field in data}
    if not all(isinstance(value, str) and value for value in changes.values()):
        return _fail(400, "Screening fields must be non-empty strings.")
    if "screening_progress" in changes and changes["screening_progress"] not in Screening.values:
        return _fail(400, f"screening_progress must be one of {', '.join(Screening.values)}.")
    try:
        person = services.person_change(person_id, changes=changes)
    except Person.DoesNotExist:
        return _fail(404, f"No person {person_id}.")
    return JsonResponse({"person": payloads.person_json(person)})


@csrf_exempt
@require_POST
def person_deleted(request: HttpRequest, person_id: str) -> JsonResponse:
    """Solaris deletes the person's data and sends PERSON_DELETED."""
    try:
        person = services.person_delete(person_id)
    except Person.DoesNotExist:
        return _fail(404, f"No person {person_id}.")
    return JsonResponse({"person_id": person.id, "deleted_at": person.deleted_at.isoformat()})


@require_GET
def deliveries(request: HttpRequest) -> JsonResponse:
    """The delivery log, oldest first, with every answer; filters: ?event_type=, ?entity_id=,
    ?state=, ?subscription_id=."""
    rows = Delivery.objects.order_by("id")
    for name in ("event_type", "entity_id", "state", "subscription_id"):
        if name in request.GET:
            rows = rows.filter(**{name: request.GET[name]})
    return JsonResponse({"deliveries": [delivery.delivery_json(d) for d in rows[:LOG_LIMIT]]})


@csrf_exempt
@require_POST
def deliveries_send_due(request: HttpRequest) -> JsonResponse:
    """Attempt the pending deliveries whose retry is due ({"all": true}: every pending one, due or
    not): the retries of development, where tasks run in-process and cannot wait."""
    data = _body(request)
    if data is None or not isinstance(data.get("all", False), bool):
        return _fail(400, 'The body must be {} or {"all": true|false}.')
    ids = delivery.send_due(everything=data.get("all", False))
    rows = Delivery.objects.filter(id__in=ids).order_by("id")
    return JsonResponse({"deliveries": [delivery.delivery_json(d) for d in rows]})


@require_GET
def tokens(request: HttpRequest) -> JsonResponse:
    """How many times the token endpoint was called (answered or refused), how many tokens it
    issued, and how many still work."""
    return JsonResponse(
        {
            "requests": TokenRequest.objects.count(),
            "issued": AccessToken.objects.count(),
            "valid": AccessToken.objects.filter(expires_at__gt=timezone.now()).count(),
        }
    )


@csrf_exempt
@require_POST
def tokens_expire(request: HttpRequest) -> JsonResponse:
    """Every token issued so far expires now: the next API call with one gets 401."""
    return JsonResponse({"expired": auth.tokens_expire_all()})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def fault(request: HttpRequest) -> JsonResponse:
    """GET reads the fault in force; POST {"mode": "error"|"timeout"|"slow_token"|"drop_webhooks"|
    "none", "seconds": …, "match": "/v1/persons", "duration": …} sets it. `error` answers 500 (with
    an errors[] body) on the API and the token endpoint; `timeout` hangs `seconds`, then answers;
    `slow_token` does that on the token endpoint only; `drop_webhooks` loses notifications (logged,
    never sent); `match` limits it to paths (or notification URLs) containing that text;
    `duration` ends it by itself; `none` clears it."""
    if request.method == "GET":
        return JsonResponse({"fault": faults.fault_json(faults.fault_current())})
    data = _body(request)
    if data is None:
        return _fail(400, "The body must be a JSON object.")
    mode = data.get("mode")
    if mode not in (*faults.MODES, "none"):
        return _fail(400, f"mode must be one of {', '.join((*faults.MODES, 'none'))}.")
    numbers = {}
    for name in ("seconds", "duration"):
        value = data.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            return _fail(400, f"{name} must be a number of seconds, 0 or more.")
        numbers[name] = float(value)
    if mode in ("timeout", "slow_token") and not numbers["seconds"]:
        return _fail(400, f"mode {mode} needs seconds.")
    match = data.get("match", "")
    if not isinstance(match, str):
        return _fail(400, "match must be a string.")
    if mode == "none":
        faults.fault_clear()
        return JsonResponse({"fault": faults.fault_json(None)})
    created = faults.fault_set(
        mode=mode, seconds=numbers["seconds"], match=match, duration=numbers["duration"] or None
    )
    return JsonResponse({"fault": faults.fault_json(created)})
