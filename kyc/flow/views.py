"""End-user redirect flow: start → provider's hosted page → return page.

The end user is never shown a 500 because of the provider: a slow provider gets a waiting page
that polls, an unavailable one a retry page. URLs carry our opaque session reference only.
"""

from django.core import signing
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kyc import selectors, services
from kyc import status as st
from kyc.flow.links import customer_id_from_token
from kyc.models import Customer, VerificationSession

# What the end user reads for each status (never the provider's codes or reasons: those are for
# staff, and may speak of fraud).
MESSAGES = {
    st.CREATED: _("We are preparing your verification."),
    st.STARTED: _("Your verification is in progress."),
    st.SUBMITTED: _("Thank you. We are checking your documents; this usually takes a few minutes."),
    st.APPROVED: _("You are verified. Thank you!"),
    st.DECLINED: _("We could not verify your identity."),
    st.RESUBMISSION_REQUESTED: _("We need you to try again: some photos could not be used."),
    st.REVIEW: _("Thank you. Your verification is being reviewed by our team."),
    st.EXPIRED: _("This verification has expired."),
    st.ABANDONED: _("This verification was not finished and has expired."),
}
FINAL_FOR_USER = st.CONCLUSIVE  # nothing more will happen without a new start


def _customer_from_token(token: str) -> Customer:
    try:
        customer_id = customer_id_from_token(token)
    except signing.SignatureExpired:
        raise Http404("This link has expired.") from None
    except (signing.BadSignature, KeyError, ValueError, TypeError):
        raise Http404("This link is not valid.") from None
    return get_object_or_404(Customer, pk=customer_id)


@never_cache
@require_http_methods(["GET", "POST"])
def start(request, token: str):
    """GET shows a start button; POST starts (link previewers and scanners only GET)."""
    customer = _customer_from_token(token)
    if request.method == "GET":
        return render(request, "flow/start.html", {"token": token})
    session = selectors.session_resumable_for(customer)
    if session is None:
        session = services.verification_start(customer=customer, actor_label="end-user")
    return redirect("flow:session", reference=session.reference)


@never_cache
@require_GET
def session_page(request, reference):
    session = get_object_or_404(VerificationSession, reference=reference)
    if session.hosted_url and session.status in selectors.RESUMABLE:
        return redirect(session.hosted_url)
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


@require_POST
def retry(request, reference):
    session = get_object_or_404(VerificationSession, reference=reference)
    services.session_retry_provider_create(session_id=session.pk)
    return redirect("flow:session", reference=reference)


@never_cache
@require_GET
def return_page(request, reference):
    """The provider's callback URL: the browser lands here after the hosted flow."""
    session = get_object_or_404(VerificationSession, reference=reference)
    return render(
        request,
        "flow/return.html",
        {
            "session": session,
            "message": MESSAGES[session.status],
            "final": session.status in FINAL_FOR_USER,
            "can_retry_same": session.status == st.RESUBMISSION_REQUESTED and bool(session.hosted_url),
        },
    )


@never_cache
@require_GET
def status_json(request, reference):
    session = get_object_or_404(VerificationSession, reference=reference)
    return JsonResponse(
        {
            "status": session.status,
            "ready": bool(session.hosted_url),
            "final": session.status in FINAL_FOR_USER,
            "provider_unavailable": bool(session.provider_error),
        }
    )
