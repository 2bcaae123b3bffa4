"""One receiving view for every provider's webhooks: /webhooks/<provider>/<kind>/, or
/webhooks/<provider>/ for a provider with one delivery URL (its kind is "")."""

import logging

from axes.helpers import get_client_ip_address
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from providers.base import ProviderNotConfigured
from providers.registry import UnknownProvider, get_provider
from webhooks.fastpath import connection_health_check_skip
from webhooks.limits import WebhookBodyRefused, webhook_body_read
from webhooks.services import Receipt, inbound_event_receive, inbound_event_refuse_body

logger = logging.getLogger(__name__)

# While the database is unreachable nothing can be stored, so nothing is accepted: 503 makes every
# provider deliver again later (Veriff and Solaris retry any non-2xx), and Retry-After says when.
UNAVAILABLE_RETRY_AFTER = "30"
# What a delivery taken (stored, or a duplicate) is answered: the same bytes every time.
SUCCESS = b'{"status": "success"}'


@csrf_exempt
@require_POST
def receive(request, provider: str, kind: str = ""):
    try:
        provider_obj = get_provider(provider)
    except UnknownProvider:
        raise Http404("unknown provider") from None
    except ProviderNotConfigured as exc:
        # Not authenticated, so not stored: a delivery we cannot verify is answered as if we were
        # down, and the provider delivers it again once the operator has set the credentials.
        logger.error("webhook %s/%s refused: %s", provider, kind, exc)
        return _unavailable_response()
    if kind not in provider_obj.webhook_kinds:
        raise Http404("unknown webhook kind")
    # The query string is part of what authenticates a delivery (ShareID: the token in the URL we
    # gave it); one value per name, the last, as QueryDict.get reads it.
    query = {name: request.GET[name] for name in request.GET}
    # Django checks a kept connection with a query of its own before a request's first one
    # (CONN_HEALTH_CHECKS). Here, on the busiest path, that is a round trip per delivery: skipped,
    # and a connection that died since the last request (a database restart) fails its first
    # statement instead, which is then tried once more on a new connection. An insert is one
    # statement, so nothing ran half; a duplicate of a committed one is caught by its dedupe key.
    connection_health_check_skip()
    try:
        body = _body(request, provider_obj.max_webhook_body)
    except WebhookBodyRefused as refused:
        return _answer(_refuse_body(request, provider_obj, kind, query, refused))
    for attempt in (1, 2):
        try:
            receipt = inbound_event_receive(
                provider=provider_obj,
                kind=kind,
                headers=request.headers,
                body=body,
                query=query,
                remote_addr=client_address(request),
            )
            break
        except (OperationalError, InterfaceError) as exc:
            if attempt == 1 and not connection.in_atomic_block:
                connection.close()
                continue
            return _unavailable(provider, kind, exc)
        except DatabaseError as exc:
            return _unavailable(provider, kind, exc)
    return _answer(receipt)


def _body(request, limit: int | None) -> bytes:
    """The delivery's body: within Django's DATA_UPLOAD_MAX_MEMORY_SIZE (above it Django answers
    400), or within the provider's own bound (Provider.max_webhook_body) on its URL alone."""
    return request.body if limit is None else webhook_body_read(request, limit)


def _refuse_body(request, provider_obj, kind: str, query: dict, refused: WebhookBodyRefused) -> Receipt:
    try:
        return inbound_event_refuse_body(
            provider=provider_obj,
            kind=kind,
            headers=request.headers,
            query=query,
            remote_addr=client_address(request),
            declared=refused.declared,
            status=refused.status,
            reason=str(refused),
        )
    except DatabaseError as exc:  # not traced then, answered all the same
        logger.error(
            "webhook %s/%s refused unread, not traced: %s", provider_obj.name, kind, type(exc).__name__
        )
        return Receipt(refused.status, None, str(refused))


def _answer(receipt: Receipt) -> HttpResponse:
    if receipt.status >= 400:
        response = JsonResponse({"status": "fail", "message": receipt.message}, status=receipt.status)
        if receipt.retry_after is not None:
            response["Retry-After"] = str(receipt.retry_after)
        return response
    return HttpResponse(SUCCESS, status=receipt.status, content_type="application/json")


def client_address(request) -> str | None:
    """The sender's address, by the rule every throttle of the site uses (django-axes'
    AXES_CLIENT_IP_CALLABLE: REMOTE_ADDR, or behind KYC_TRUSTED_PROXY_COUNT proxies of our own the
    X-Forwarded-For entry they added)."""
    return get_client_ip_address(request)


def _unavailable(provider: str, kind: str, exc: DatabaseError) -> JsonResponse:
    logger.error("webhook %s/%s refused, database unavailable: %s", provider, kind, type(exc).__name__)
    return _unavailable_response()


def _unavailable_response() -> JsonResponse:
    response = JsonResponse({"status": "fail", "message": "temporarily unavailable"}, status=503)
    response["Retry-After"] = UNAVAILABLE_RETRY_AFTER
    return response
