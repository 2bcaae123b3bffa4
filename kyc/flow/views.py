"""End-user redirect flow: start link → our session page → provider's hosted page → return page.

The end user is never shown a 500 because of the provider: a slow provider gets a waiting page
that polls, an unavailable one a retry page. After a resubmission request they come back to the
same session with the reason in plain words; after expired, abandoned or (policy permitting)
declined they can start a new session. URLs carry a signed token or our opaque session reference,
never personal data.
"""

import math

from django.conf import settings
from django.core import signing
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kyc import selectors
from kyc import status as st
from kyc.flow.reasons import resubmission_messages
from kyc.links import customer_id_from_token
from kyc.models import Customer, VerificationSession
from kyc.services import retries, sessions
from kyc.services.launch import session_launch, session_launchable, session_returned_from_hosted_flow
from providers.base import ProviderError

# What the end user reads for each status (never the provider's codes or reasons: those are for
# staff, and may speak of fraud).
MESSAGES = {
    st.CREATED: _("We are preparing your verification."),
    st.STARTED: _("Your verification is in progress."),
    st.SUBMITTED: _("Thank you. We are checking your documents; this usually takes a few minutes."),
    st.APPROVED: _("You are verified. Thank you!"),
    st.DECLINED: _("We could not verify your identity."),
    st.RESUBMISSION_REQUESTED: _("We need you to try again."),
    st.REVIEW: _("Thank you. Your verification is being reviewed by our team."),
    st.EXPIRED: _("This verification has expired."),
    st.ABANDONED: _("This verification was not finished and has expired."),
}
# Why a new verification cannot be started, in the end user's words.
REFUSALS = {
    selectors.ALREADY_VERIFIED: _("You are already verified. There is nothing more to do."),
    selectors.IN_REVIEW: _("Your verification is being reviewed by our team. We will let you know."),
    selectors.DECLINED: _("We could not verify your identity. Please contact our support team for help."),
}
INPUT_INVALID = _(
    "We cannot start your verification: some of the details we hold about you are not valid. "
    "Please contact our support team so that they can correct them."
)
# A device fingerprint is an opaque blob of a few kilobytes (Seon's is base64); more is not one.
DEVICE_DATA_MAX = 16 * 1024
FINAL_FOR_USER = st.CONCLUSIVE  # nothing more will happen without a new start
# On the way back to the return page, the end user left the provider's hosted flow without
# finishing it. A provider launched afresh at each visit (ShareID) tells us nothing itself: the page
# that runs its SDK adds this marker when the SDK says the person left (providers/shareid/README.md,
# "Launch"); without it, coming back means finished (session_returned_from_hosted_flow).
LEFT_PARAM = "left"
LEFT = _("You left before the end of your verification. Continue whenever you are ready.")


def _customer_from_token(token: str) -> Customer:
    try:
        customer_id = customer_id_from_token(token)
    except signing.SignatureExpired:
        raise Http404("This link has expired.") from None
    except (signing.BadSignature, KeyError, ValueError, TypeError):
        raise Http404("This link is not valid.") from None
    return get_object_or_404(Customer, pk=customer_id)


def _device_data(request) -> str:
    """The device fingerprint the start page's script hook put in the form (settings.
    KYC_DEVICE_FINGERPRINT_SCRIPT), "" without one; bounded, as anything a browser posts."""
    return request.POST.get("device_data", "").strip()[:DEVICE_DATA_MAX]


def _start_or_resume(request, customer: Customer):
    try:
        session, _created = sessions.verification_start_or_resume(
            customer=customer, actor_label="end-user", device_data=_device_data(request)
        )
    except sessions.VerificationRefused as refused:
        return render(request, "flow/closed.html", {"message": REFUSALS[refused.reason]}, status=200)
    except sessions.VerificationInputInvalid:
        # Which field, never its value; the end user cannot correct it here, support can.
        return render(request, "flow/closed.html", {"message": INPUT_INVALID}, status=400)
    except sessions.VerificationProviderRefused as refused:
        # The same answer as before (the refused session's page), not one more session.
        return redirect("flow:session", reference=refused.session.reference)
    except sessions.VerificationLimitReached as limited:
        hours = max(1, math.ceil((limited.retry_at - timezone.now()).total_seconds() / 3600))
        message = ngettext(
            "You have started as many verifications as we allow in one day. "
            "Please try again in about an hour, or contact our support team.",
            "You have started as many verifications as we allow in one day. "
            "Please try again in about %(hours)d hours, or contact our support team.",
            hours,
        ) % {"hours": hours}
        return render(request, "flow/closed.html", {"message": message}, status=429)
    return redirect("flow:session", reference=session.reference)


@never_cache
@require_http_methods(["GET", "POST"])
def start(request, token: str):
    """GET shows a start button; POST starts or resumes (link previewers and scanners only GET)."""
    customer = _customer_from_token(token)
    if request.method == "GET":
        # Said at once, not after a button: a verified customer opening an old link is not
        # invited to start again (the POST would refuse with the same words).
        resumable = selectors.session_resumable_for(customer)
        refusal = None if resumable else selectors.verification_restart_refusal(customer)
        if refusal is not None:
            return render(request, "flow/closed.html", {"message": REFUSALS[refusal]})
        return render(
            request,
            "flow/start.html",
            {"token": token, "device_fingerprint_script": settings.KYC_DEVICE_FINGERPRINT_SCRIPT},
        )
    return _start_or_resume(request, customer)


@never_cache
@require_GET
def session_page(request, reference):
    session = get_object_or_404(VerificationSession.objects.select_related("customer"), reference=reference)
    if session.status in selectors.RESUMABLE and selectors.session_is_stale(session):
        return redirect("flow:return", reference=reference)  # expired on our side, or replaced
    if session.status == st.RESUBMISSION_REQUESTED:
        # Back on the same session, but first the user reads why they must try again.
        return redirect("flow:return", reference=reference)
    if session.status == st.SUBMITTED:
        # The end user has done their part and the provider is deciding: its hosted flow has
        # nothing more for them (IDnow's "identification finished" page has no way back to us).
        # The return page says where it stands and follows it by itself.
        return redirect("flow:return", reference=reference)
    if session.status in selectors.RESUMABLE and session_launchable(session):
        # Asked at each visit: the URL may have come after the session id (Solaris), or be made
        # afresh for one visit (a single-use SDK token: ShareID, Signicat).
        try:
            launch = session_launch(session)
        except ProviderError as exc:
            return render(
                request, "flow/retry.html", {"session": session, "permanent": exc.permanent}, status=503
            )
        if launch is not None:
            return redirect(launch.url)
    if session.status in FINAL_FOR_USER:
        return redirect("flow:return", reference=reference)
    if session.provider_error:
        return render(
            request,
            "flow/retry.html",
            {"session": session, "permanent": session.provider_error_permanent},
            status=503,
        )
    return render(request, "flow/preparing.html", {"session": session})


@never_cache
@require_GET
def launch(request, reference):
    """'Try again' after a resubmission request: back into the provider's hosted flow of the same
    session, launched afresh when the provider's launch is single-use."""
    session = get_object_or_404(VerificationSession, reference=reference)
    # Not once submitted: the end user's part is done, and a fresh launch would replace the
    # provider session whose result is on its way (as the session page, above).
    waiting_for_user = session.status in selectors.RESUMABLE and session.status != st.SUBMITTED
    if waiting_for_user and session_launchable(session):
        try:
            started = session_launch(session)
        except ProviderError as exc:
            return render(
                request, "flow/retry.html", {"session": session, "permanent": exc.permanent}, status=503
            )
        if started is not None:
            return redirect(started.url)
    return redirect("flow:return", reference=reference)


@require_POST
def retry(request, reference):
    session = get_object_or_404(VerificationSession, reference=reference)
    retries.session_retry_provider_create(session_id=session.pk)
    return redirect("flow:session", reference=reference)


@require_POST
def restart(request, reference):
    """'Start again' on the return page of an expired, abandoned or declined session."""
    session = get_object_or_404(VerificationSession.objects.select_related("customer"), reference=reference)
    return _start_or_resume(request, session.customer)


@never_cache
@require_GET
def return_page(request, reference):
    """The provider's callback URL: the browser lands here after the hosted flow."""
    session = get_object_or_404(VerificationSession.objects.select_related("customer"), reference=reference)
    left = LEFT_PARAM in request.GET
    stale = session.status in selectors.RESUMABLE and selectors.session_is_stale(session)
    # Back from a hosted flow that says nothing when it is finished (a single-use launch): the
    # session is submitted, so that its link no longer launches afresh over the result to come.
    # A GET, as the provider's way back is; a second one (the page's refresh) finds it submitted.
    finished = not left and not stale and session.status in (st.CREATED, st.STARTED)
    if finished and session_returned_from_hosted_flow(session_id=session.pk):
        session.refresh_from_db()
    status = session.status
    if stale:
        newer = selectors.session_resumable_for(session.customer)
        if newer is not None:
            return redirect("flow:session", reference=newer.reference)
        status = st.EXPIRED  # past the provider's lifetime: it cannot be continued
    reasons = resubmission_messages(session) if not stale else []
    restartable = (
        status in st.RESTARTABLE and selectors.verification_restart_refusal(session.customer) is None
    )
    final = status in FINAL_FOR_USER or stale
    # Left without finishing, the session still waiting for them: back in by a fresh launch.
    can_continue = left and status in (st.CREATED, st.STARTED) and session_launchable(session)
    return render(
        request,
        "flow/return.html",
        {
            "session": session,
            "status": status,
            "message": LEFT if can_continue else MESSAGES[status],
            "reasons": reasons,
            "final": final,
            "can_retry_same": status == st.RESUBMISSION_REQUESTED and session_launchable(session),
            "can_continue": can_continue,
            "continue_url": reverse("flow:session", args=[session.reference]),
            # A stored URL as it is; a launch made at each visit through our launch page.
            "retry_url": session.hosted_url or reverse("flow:launch", args=[session.reference]),
            "can_restart": restartable,
            "contact_support": status == st.DECLINED and not restartable,
        },
    )


@never_cache
@require_GET
def status_json(request, reference):
    session = get_object_or_404(VerificationSession, reference=reference)
    return JsonResponse(
        {
            "status": session.status,
            "ready": session_launchable(session),
            "final": session.status in FINAL_FOR_USER,
            "provider_unavailable": bool(session.provider_error),
        }
    )
