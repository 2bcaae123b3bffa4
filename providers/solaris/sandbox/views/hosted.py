"""The IDnow-like page an identification's `url` points to, where a person plays the end user.

IDnow's own pages are out of our reach; this one stands in for them: the end user "finishes" the
video call with an outcome, and Solaris's review follows at once unless the page is told to leave
the identification at IDnow's verdict (`pending_successful` / `pending_failed`).
"""

import contextlib

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from .. import services
from ..models import Identification, Status

TEMPLATE_FLOW = "solaris_sandbox/idnow.html"
TEMPLATE_CLOSED = "solaris_sandbox/closed.html"

OUTCOMES = {
    "successful": (Status.SUCCESSFUL, Status.PENDING_SUCCESSFUL),
    "failed": (Status.FAILED, Status.PENDING_FAILED),
    "aborted": (Status.ABORTED, Status.ABORTED),
}


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(choices=[(key, key) for key in OUTCOMES])
    # Leave the identification at IDnow's verdict, Solaris's review still open.
    provisional = forms.BooleanField(required=False)


@require_http_methods(["GET", "POST"])
def idnow(request: HttpRequest, identification_id: str) -> HttpResponse:
    found = Identification.objects.select_related("person").filter(id=identification_id).first()
    if found is None:
        context = {"title": "Unknown identification", "message": "This identification link is not valid."}
        return render(request, TEMPLATE_CLOSED, context, status=404)
    services.expire_if_stale(found.id)
    found.refresh_from_db()
    if found.status != Status.PENDING:
        return _closed(request, found)
    if request.method == "GET":
        return render(request, TEMPLATE_FLOW, {"identification": found, "form": OutcomeForm()})
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        return render(request, TEMPLATE_FLOW, {"identification": found, "form": form}, status=400)
    final, provisional = OUTCOMES[form.cleaned_data["outcome"]]
    target = provisional if form.cleaned_data["provisional"] else final
    # Another request may have decided it first (a double click): the page shows where it ended.
    with contextlib.suppress(services.TransitionRefused):
        services.identification_outcome(found.id, status=target)
    found.refresh_from_db()
    return _closed(request, found)


def _closed(request: HttpRequest, found: Identification) -> HttpResponse:
    if found.status == Status.CREATED:
        title, message = "Not started", "This identification has not been requested yet."
    else:
        title, message = (
            "Identification finished",
            "There is nothing more to do here. You may close this page.",
        )
    return render(request, TEMPLATE_CLOSED, {"title": title, "message": message, "identification": found})
