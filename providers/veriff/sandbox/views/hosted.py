"""The hosted flow at /v/<sessionToken>, where a person plays the end user (README, "The sandbox").

Opening the page starts the current attempt (7001); choosing an outcome submits it (media, 7002)
and decides it, then the browser goes back to the session's callback, as Veriff's flow does.
"""

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from .. import payloads, services
from ..models import SandboxAttempt, SandboxSession, Status
from ..tokens import session_id_from_token
from . import client_ip

TEMPLATE_FLOW = "veriff_sandbox/hosted.html"
TEMPLATE_CLOSED = "veriff_sandbox/closed.html"
TEMPLATE_DONE = "veriff_sandbox/done.html"

OUTCOMES = {
    "approve": Status.APPROVED,
    "decline": Status.DECLINED,
    "resubmit": Status.RESUBMISSION_REQUESTED,
    "abandon": Status.ABANDONED,
}
# 539 is Veriff's to give (the 10th attempt), not a choice on the page.
DECLINE_CHOICES = [
    (code, f"{code} – {text}") for code, text in payloads.DECLINE_REASONS.items() if code != 539
]
RESUBMIT_CHOICES = [(code, f"{code} – {text}") for code, text in payloads.RESUBMIT_REASONS.items()]

CLOSED_MESSAGES = {
    Status.APPROVED: ("Verification complete", "You have been verified. There is nothing to do here."),
    Status.DECLINED: ("Verification closed", "This verification is closed. There is nothing to do here."),
    Status.REVIEW: ("Under review", "Your verification is being reviewed. There is nothing to do here."),
    Status.EXPIRED: ("Session expired", "This verification session has expired."),
    Status.ABANDONED: ("Session expired", "This verification session has expired."),
}


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(choices=[(key, key) for key in OUTCOMES])
    reason_code = forms.TypedChoiceField(
        choices=[("", "-"), *DECLINE_CHOICES, *RESUBMIT_CHOICES], coerce=int, required=False, empty_value=None
    )

    def clean(self) -> dict:
        data = super().clean()
        outcome, code = data.get("outcome"), data.get("reason_code")
        allowed = {"decline": payloads.DECLINE_REASONS, "resubmit": payloads.RESUBMIT_REASONS}.get(
            outcome, {}
        )
        if code is not None and code not in allowed:
            self.add_error("reason_code", "This reason does not go with this outcome.")
        return data


@require_http_methods(["GET", "POST"])
def hosted_flow(request: HttpRequest, token: str) -> HttpResponse:
    session_id = session_id_from_token(token)
    session = SandboxSession.objects.filter(id=session_id).first() if session_id else None
    if session is None:
        context = {"title": "Unknown session", "message": "This verification link is not valid."}
        return render(request, TEMPLATE_CLOSED, context, status=404)
    services.expire_if_stale(session.id)

    if request.method == "POST":
        return _choose_outcome(request, session)
    try:
        attempt = services.attempt_open(session.id, via=SandboxAttempt.Via.WEB, ip=client_ip(request))
    except services.SessionClosed as closed:
        return _closed(request, closed.status)
    session.refresh_from_db()
    return _render_flow(request, session, attempt, OutcomeForm())


def _choose_outcome(request: HttpRequest, session: SandboxSession) -> HttpResponse:
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        session.refresh_from_db()
        return _render_flow(request, session, session.current_attempt(), form, status=400)
    try:
        decision = services.session_decide(
            session.id,
            status=OUTCOMES[form.cleaned_data["outcome"]],
            reason_code=form.cleaned_data["reason_code"],
            via=SandboxAttempt.Via.WEB,
            ip=client_ip(request),
        )
    except services.SessionClosed as closed:
        return _closed(request, closed.status)
    if session.callback:
        # The callback carries no data (the seed): the app learns the outcome from the webhook.
        return HttpResponseRedirect(session.callback)
    return render(request, TEMPLATE_DONE, {"decision": decision["verification"]})


def _render_flow(
    request: HttpRequest,
    session: SandboxSession,
    attempt: SandboxAttempt,
    form: OutcomeForm,
    status: int = 200,
) -> HttpResponse:
    context = {
        "session": session,
        "attempt": attempt,
        "submitted": attempt.status == Status.SUBMITTED,
        "last_attempt": attempt.number >= services.MAX_ATTEMPTS,
        "max_attempts": services.MAX_ATTEMPTS,
        "decline_choices": DECLINE_CHOICES,
        "resubmit_choices": RESUBMIT_CHOICES,
        "form": form,
    }
    return render(request, TEMPLATE_FLOW, context, status=status)


def _closed(request: HttpRequest, status: str) -> HttpResponse:
    title, message = CLOSED_MESSAGES.get(status, ("Nothing to do", "There is nothing to do here."))
    return render(request, TEMPLATE_CLOSED, {"title": title, "message": message, "status": status})
