"""The SDK page, the sandbox's stand-in for ShareID's web SDK and the page of ours that runs it:
GET sdk/?token=…&return_url=… where a person plays the end user (approves, picks reasons, or
leaves), then goes back to return_url (`?left=1` added when they left without finishing).

The token is single-use: the first GET spends it (a later one is answered 410 "already used"),
and the page finishes with a key that GET alone handed out. No script at all: plain forms and a
stylesheet from our static files, so the page passes the project's Content-Security-Policy.
"""

from urllib.parse import urlsplit, urlunsplit

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from .. import results, services
from ..models import SdkToken

TEMPLATE_SDK = "shareid_sandbox/sdk.html"
TEMPLATE_CLOSED = "shareid_sandbox/closed.html"
TEMPLATE_DONE = "shareid_sandbox/done.html"
OUTCOMES = ("approve", "reject", "leave")
# Added to return_url when the person leaves without finishing. ShareID's SDK sends no one
# anywhere: it runs in a page of the business's and tells that page how it ended (finished, or
# left); that page decides where the browser goes. This page plays both, as the business's page
# must behave: back to return_url when finished, with this marker when left (README.md, "Launch").
LEFT_PARAM = "left"

CLOSED = {
    "unknown": (404, "Link not valid", "This verification link is not valid."),
    "used": (
        410,
        "Link already used",
        "This verification link was already used. Go back to the site that sent you here to get a new one.",
    ),
    "expired": (
        410,
        "Link expired",
        "This verification link has expired. Go back to the site that sent you here to get a new one.",
    ),
    "finished": (
        410,
        "Already finished",
        "This verification is already finished. There is nothing more to do here.",
    ),
}


class FinishForm(forms.Form):
    token = forms.CharField(max_length=64)
    page_key = forms.CharField(max_length=64)
    return_url = forms.CharField(max_length=2000, required=False)
    outcome = forms.ChoiceField(choices=[(name, name) for name in OUTCOMES])
    reasons = forms.MultipleChoiceField(choices=[(code, code) for code in results.REASONS], required=False)
    surname = forms.CharField(max_length=100, required=False)
    name = forms.CharField(max_length=100, required=False)
    birth_date = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    doc_type = forms.ChoiceField(choices=[(t, t) for t in results.DOC_TYPES], required=False)

    def clean(self):
        data = super().clean()
        if data.get("outcome") == "reject" and not data.get("reasons"):
            raise forms.ValidationError("Tick at least one reason to reject, or approve.")
        return data


def _closed(request: HttpRequest, why: str) -> HttpResponse:
    status, title, message = CLOSED[why]
    return render(request, TEMPLATE_CLOSED, {"title": title, "message": message}, status=status)


def _page(
    request: HttpRequest, sdk: SdkToken, *, return_url: str, form: FinishForm | None = None, status: int = 200
):
    is_flow = sdk.flow_id is not None
    groups = {
        group: [(code, text) for code, text in reasons.items() if not is_flow or code in results.FACE_REASONS]
        for group, reasons in results.REASON_GROUPS.items()
    }
    context = {
        "sdk": sdk,
        "is_flow": is_flow,
        "return_url": return_url,
        "groups": {group: choices for group, choices in groups.items() if choices},
        "ocr": results.default_document(sdk.applicant_id)["ocr"],
        "doc_types": results.DOC_TYPES,
        "form": form,
        "picked": form.data.getlist("reasons") if form is not None else [],
    }
    return render(request, TEMPLATE_SDK, context, status=status)


@never_cache
@require_GET
def sdk(request: HttpRequest) -> HttpResponse:
    token = request.GET.get("token", "")
    if not token:
        return _closed(request, "unknown")
    try:
        opened = services.sdk_token_open(token=token)
    except services.SdkRefused as refused:
        return _closed(request, refused.why)
    decided = opened.flow if opened.flow_id else opened.applicant
    if decided.completed_at is not None:
        # A script finished it before the person came (control/…/complete): nothing to play.
        return _closed(request, "finished")
    return _page(request, opened, return_url=request.GET.get("return_url", ""))


@never_cache
@require_POST
def sdk_finish(request: HttpRequest) -> HttpResponse:
    form = FinishForm(request.POST)
    found = (
        SdkToken.objects.select_related("applicant", "flow")
        .filter(token=request.POST.get("token", ""))
        .first()
    )
    if found is None or found.used_at is None:
        return _closed(request, "unknown")
    if form.is_valid() and found.flow_id and set(form.cleaned_data["reasons"]) - set(results.FACE_REASONS):
        form.add_error("reasons", "An authentication checks the face only: pick face reasons.")
    if not form.is_valid():
        return _page(request, found, return_url=request.POST.get("return_url", ""), form=form, status=400)
    data = form.cleaned_data
    ocr = {"surname": data["surname"], "name": data["name"]}
    if data["birth_date"]:
        ocr["birth_date"] = data["birth_date"].isoformat()
    try:
        services.sdk_finish(
            token=data["token"],
            page_key=data["page_key"],
            outcome=data["outcome"],
            reasons=data["reasons"],
            ocr=ocr,
            doc_type=data["doc_type"] or "id_card",
        )
    except services.SdkRefused as refused:
        return _closed(request, refused.why)
    return_url = data["return_url"]
    if _is_web_url(return_url):
        if data["outcome"] == "leave":
            return_url = _with_left_marker(return_url)
        return HttpResponseRedirect(return_url)
    return render(request, TEMPLATE_DONE, {"outcome": data["outcome"]})


def _with_left_marker(url: str) -> str:
    """return_url with LEFT_PARAM added to its query string (the rest kept as it is)."""
    parts = urlsplit(url)
    query = f"{parts.query}&{LEFT_PARAM}=1" if parts.query else f"{LEFT_PARAM}=1"
    return urlunsplit(parts._replace(query=query))


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)
