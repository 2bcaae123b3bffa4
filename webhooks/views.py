"""One receiving view for every provider's webhooks (/webhooks/<provider>/<kind>/)."""

from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from providers.registry import UnknownProvider, get_provider
from webhooks.services import inbound_event_receive


@csrf_exempt
@require_POST
def receive(request, provider: str, kind: str = ""):
    try:
        provider_obj = get_provider(provider)
    except UnknownProvider:
        raise Http404("unknown provider") from None
    if kind not in provider_obj.webhook_kinds:
        raise Http404("unknown webhook kind")
    receipt = inbound_event_receive(
        provider=provider_obj,
        kind=kind,
        headers=request.headers,
        body=request.body,
        remote_addr=request.META.get("REMOTE_ADDR"),
    )
    if receipt.status >= 400:
        return JsonResponse({"status": "fail", "message": receipt.message}, status=receipt.status)
    return JsonResponse({"status": "success"}, status=receipt.status)
