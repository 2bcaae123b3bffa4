"""Solaris's API under /v1/ (../../README.md, "Endpoints"): same paths, codes and shapes, a bearer
token on every call, errors as `errors[]`."""

import datetime as dt
import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from .. import errors, payloads, services
from ..auth import api_endpoint
from ..models import METHODS, Document, Identification, Person, Status, Subscription

LANGUAGES = ("DE", "EN")
PAGE_SIZE_DEFAULT = 10
PAGE_SIZE_MAX = 1000


def _json_body(request: HttpRequest, *, empty_ok: bool = False) -> dict[str, Any]:
    if not request.body:
        if empty_ok:
            return {}
        raise errors.bad_request("The request body must be a JSON object.", code="invalid_request_body")
    if request.content_type != "application/json":
        raise errors.ApiError(
            415, "unsupported_media_type", "Unsupported Media Type", "Content-Type must be application/json."
        )
    try:
        data = json.loads(request.body)
    except (ValueError, RecursionError):
        raise errors.bad_request("The request body is not valid JSON.", code="invalid_request_body") from None
    if not isinstance(data, dict):
        raise errors.bad_request("The request body must be a JSON object.", code="invalid_request_body")
    return data


def _person(person_id: str) -> Person:
    person = Person.objects.filter(id=person_id, deleted_at=None).first()
    if person is None:
        raise errors.not_found("Solaris::Person", person_id)
    return person


def _identification(person_id: str, identification_id: str) -> Identification:
    person = _person(person_id)
    identification = Identification.objects.filter(id=identification_id, person=person).first()
    if identification is None:
        raise errors.not_found("Solaris::Identification", identification_id)
    if identification.status == Status.PENDING:
        services.expire_if_stale(identification.id)
        identification.refresh_from_db()
    return identification


def _optional_string(data: dict[str, Any], field: str) -> str | None:
    value = data.get(field)
    if value is not None and not isinstance(value, str):
        raise errors.invalid(field, "must be a string")
    return value


@api_endpoint("POST")
def persons(request: HttpRequest) -> HttpResponse:
    data = _json_body(request)
    for field in ("first_name", "last_name"):
        value = data.get(field)
        if not isinstance(value, str) or not value.strip():
            raise errors.invalid(field, "is missing")
    birth_date = data.get("birth_date")
    if birth_date is not None:
        try:
            dt.date.fromisoformat(birth_date)
        except (TypeError, ValueError):
            raise errors.invalid("birth_date", "must be a date (YYYY-MM-DD)") from None
    data.pop("id", None)
    person = services.person_create(data=data)
    return JsonResponse(payloads.person_json(person), status=201)


@api_endpoint("GET")
def person(request: HttpRequest, person_id: str) -> HttpResponse:
    return JsonResponse(payloads.person_json(_person(person_id)))


@api_endpoint("GET", "POST")
def identifications(request: HttpRequest, person_id: str) -> HttpResponse:
    person = _person(person_id)
    if request.method == "GET":
        # Identifications not yet requested are not listed (the public mock's behaviour).
        for pending in person.identifications.filter(status=Status.PENDING).values_list("id", flat=True):
            services.expire_if_stale(pending)
        rows = person.identifications.exclude(status=Status.CREATED).order_by("created_at")
        return JsonResponse([payloads.identification_json(i) for i in rows], safe=False)
    data = _json_body(request)
    method = data.get("method", "idnow")
    if method not in METHODS:
        raise errors.invalid("method", f"must be one of {', '.join(METHODS)}")
    language = data.get("language", "DE")
    if language not in LANGUAGES:
        raise errors.invalid("language", f"must be one of {', '.join(LANGUAGES)}")
    identification = services.identification_create(
        person,
        method=method,
        language=language,
        reference=_optional_string(data, "reference"),
        device_data=_optional_string(data, "device_data"),
    )
    return JsonResponse(payloads.identification_json(identification, documents=False), status=201)


@api_endpoint("GET")
def identification(request: HttpRequest, person_id: str, identification_id: str) -> HttpResponse:
    return JsonResponse(payloads.identification_json(_identification(person_id, identification_id)))


@api_endpoint("PATCH")
def identification_request(request: HttpRequest, person_id: str, identification_id: str) -> HttpResponse:
    """The IDnow link: `pending` with its `url`. 201, as the public mock answers."""
    found = _identification(person_id, identification_id)
    data = _json_body(request, empty_ok=True)
    device_data = _optional_string(data, "device_data")
    try:
        found = services.identification_request(found.id, device_data=device_data)
    except services.TransitionRefused as refused:
        raise errors.invalid_status(refused.current, refused.wanted) from None
    body = payloads.identification_json(found, documents=False)
    body["estimated_waiting_time"] = services.ESTIMATED_WAITING_TIME
    return JsonResponse(body, status=201)


@api_endpoint("GET")
def identification_documents(request: HttpRequest, person_id: str, identification_id: str) -> HttpResponse:
    found = _identification(person_id, identification_id)
    return JsonResponse([payloads.document_json(d) for d in found.documents.defer("content")], safe=False)


@api_endpoint("GET")
def person_documents(request: HttpRequest, person_id: str) -> HttpResponse:
    rows = Document.objects.filter(identification__person=_person(person_id)).defer("content")
    return JsonResponse([payloads.document_json(d) for d in rows], safe=False)


@api_endpoint("GET")
def document_file(request: HttpRequest, person_id: str, document_id: str) -> HttpResponse:
    document = Document.objects.filter(id=document_id, identification__person=_person(person_id)).first()
    if document is None:
        raise errors.not_found("Solaris::Document", document_id)
    response = HttpResponse(bytes(document.content), content_type=document.content_type)
    response["Content-Disposition"] = f'attachment; filename="{document.name}"'
    response["Content-Length"] = str(document.size)
    return response


@api_endpoint("GET", "POST")
def webhooks(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        number, size = _page(request)
        rows = Subscription.objects.filter(cancelled_at=None).order_by("created_at")
        page = rows[(number - 1) * size : number * size]
        return JsonResponse([payloads.subscription_json(s) for s in page], safe=False)
    data = _json_body(request)
    event_type, url = data.get("event_type"), data.get("url")
    if event_type not in services.EVENT_TYPES:
        raise errors.invalid("event_type", "is not a known event type")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise errors.invalid("url", "must be an http(s) URL")
    try:
        subscription = services.subscription_create(event_type=event_type, url=url)
    except services.SubscriptionRefused as refused:
        raise errors.bad_request(str(refused), code="webhook_subscription_failed") from None
    return JsonResponse(payloads.subscription_json(subscription), status=201)


@api_endpoint("GET", "DELETE")
def webhook(request: HttpRequest, subscription_id: str) -> HttpResponse:
    subscription = Subscription.objects.filter(id=subscription_id, cancelled_at=None).first()
    if subscription is None:
        raise errors.not_found("Solaris::WebhookSubscription", subscription_id)
    if request.method == "GET":
        return JsonResponse(payloads.subscription_json(subscription))
    services.subscription_delete(subscription.id)
    return HttpResponse(status=204)


def _page(request: HttpRequest) -> tuple[int, int]:
    try:
        number = int(request.GET.get("page[number]", 1))
        size = int(request.GET.get("page[size]", PAGE_SIZE_DEFAULT))
    except ValueError:
        number = size = 0
    if number < 1 or not 1 <= size <= PAGE_SIZE_MAX:
        raise errors.ApiError(
            400,
            "build_pagination_headers_failure",
            "Build Pagination Headers Failure",
            f"page[number] must be 1 or more and page[size] between 1 and {PAGE_SIZE_MAX}.",
        )
    return number, size
