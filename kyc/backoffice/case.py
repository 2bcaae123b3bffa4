"""The case page: the customer, every session and attempt as a timeline, verified data beside what
the customer gave us, the evidence, and the actions. Actions are POSTs to one view that checks the
permission, calls a kyc.reviews service (which checks it again) and comes back to the page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from kyc import start_limits
from kyc.casework import claims, comments, sla, visits
from kyc.casework.export import EXPORT_CASE
from kyc.models import Case, Review, ReviewReason, ScreeningResult, VerificationSession
from kyc.pages import missing_permission
from kyc.queue import case_detail, explain_decision
from kyc.reviews import risk
from kyc.reviews.policy import FOUR_EYES_LABELS, PROVIDER_OUTCOME, REVIEWABLE_STATUSES, is_high_risk
from kyc.services import assignment, screening
from kyc.services import case_actions as actions
from kyc.services import reviews as decisions
from kyc.services.reviews import ReviewError
from kyc.services.screening import ScreeningError


class ReviewForm(forms.Form):
    outcome = forms.ChoiceField(choices=Review.Outcome.choices, widget=forms.RadioSelect)
    reason = forms.ModelChoiceField(
        queryset=ReviewReason.objects.filter(active=True), empty_label="(choose a reason)"
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Required. What you checked and why you decide so; kept with the decision.",
        max_length=5000,
    )


class RejectForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


def _user_can(request) -> dict[str, bool]:
    has = request.user.has_perm
    return {
        "review": has("kyc.review_case"),
        "confirm": has("kyc.confirm_override"),
        "reassign": has("kyc.reassign_case"),
        "view_media": has("kyc.view_media"),
        "view_audit": has("kyc.view_auditevent"),
    }


def _detail_or_404(object_id):
    try:
        return case_detail(int(object_id))
    except (VerificationSession.DoesNotExist, ValueError, TypeError):
        raise Http404("No such case.") from None


def case_page(request, model_admin, object_id, *, review_form=None, comment=("", ""), status=200):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied(missing_permission("kyc.view_case"))
    detail = _detail_or_404(object_id)
    can = _user_can(request)
    session = detail.session
    provider_outcome = PROVIDER_OUTCOME.get(session.status, "")
    holder = _case_holder(detail)
    reviewable = session.status in REVIEWABLE_STATUSES
    # Shown before the analyst submits: which outcomes would wait for a second person, and why
    # (the same function review_propose applies).
    four_eyes = (
        {value: decisions.four_eyes_for(session, value) for value in Review.Outcome.values}
        if reviewable
        else {}
    )
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Case: {detail.customer.full_name or detail.customer.external_ref}",
        "is_nav_sidebar_enabled": False,  # the evidence needs the width
        "subtitle": None,
        "opts": Case._meta,
        "case": detail,
        "can": can,
        "now": timezone.now(),
        "high_risk": is_high_risk(detail.customer.country),
        "reviewable": reviewable,
        "four_eyes": {
            value: [FOUR_EYES_WORDS.get(r, r) for r in reasons] for value, reasons in four_eyes.items()
        },
        "approval_four_eyes": [
            FOUR_EYES_WORDS.get(r, r) for r in four_eyes.get("approve", []) if r != "override"
        ],
        "awaiting_four_eyes": [FOUR_EYES_WORDS.get(r, r) for r in detail.case_awaiting.four_eyes]
        if detail.case_awaiting
        else [],
        "holder": holder,
        "held_by_other": holder is not None and holder.pk != request.user.pk,
        "can_withdraw": detail.case_awaiting is not None
        and (detail.case_awaiting.proposed_by_id == request.user.pk or can["confirm"]),
        "provider_outcome": provider_outcome,
        "provider_outcome_label": Review.Outcome(provider_outcome).label.lower() if provider_outcome else "",
        "review_form": review_form or ReviewForm(),
        "reasons": list(ReviewReason.objects.filter(active=True)),
        "reject_form": RejectForm(),
        "assignable": list(assignment.assignable_users()) if can["reassign"] else [],
        "session_limit": _session_limit(detail.customer),
        "held_by_flags": risk.session_is_held(session) if detail.risk_flags else False,
        "can_start_new": detail.is_latest
        and actions.can_start_new_session(session, detail.effective.outcome if detail.effective else None),
    }
    context["decision_explained"] = [
        line
        for line in (explain_decision(detail.decision, session.provider) if detail.decision else ())
        if line
    ]
    if detail.provisional is not None:
        # The provider's own word for its verdict ("pending failed"), and what it said about it.
        context["provisional_label"] = detail.provisional.provider_status.replace("_", " ")
        context["provisional_explained"] = [
            line for line in explain_decision(detail.provisional, session.provider) if line
        ]
    # The visit is audited once, with the evidence the page shows; the page's media URLs carry
    # its token so that the thumbnails are not audited again one by one (kyc/casework/visits.py).
    shown = visits.media_shown_on_page(detail.media) if can["view_media"] else []
    token = visits.case_visit_record(session=session, media_shown=shown, actor=request.user)
    context["comment_body"], context["comment_error"] = comment
    context["visit_query"] = "?" + urlencode({"visit": token})
    context["can"]["export"] = request.user.has_perm(EXPORT_CASE)
    context["sla"] = sla.sla_state(session.queued_at, context["now"]) if session.queued_at else ""
    context["urls"] = {
        name.replace("-", "_"): reverse("admin:kyc_case_action", args=[session.pk, name])
        for name in (
            "propose",
            "confirm",
            "reject",
            "withdraw",
            "assign-me",
            "assign",
            "unassign",
            "redownload",
            "send-link",
            "new-session",
            "allow-sessions",
            "screening-resolve",
            "screening-confirm",
            "screening-reject",
            "comment",
        )
    }
    context["urls"]["claim_next"] = reverse("admin:kyc_case_claim_next")
    context["urls"]["export"] = reverse("admin:kyc_case_export", args=[session.pk])
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/kyc/case/case_page.html", context, status=status)


def _session_limit(customer) -> dict:
    """The customer's new sessions today against the daily limit, for the Customer box."""
    cap = start_limits.daily_cap()
    counted = start_limits.sessions_counted(customer)
    return {"cap": cap, "counted": counted, "reached": bool(cap) and counted >= cap}


FOUR_EYES_WORDS = {"override": "it overrides the provider's decision", **FOUR_EYES_LABELS}


def _case_holder(detail):
    """Who works the customer's case: the assignee of the session shown, else of their latest
    session (the queue's row); only they decide (kyc.services.reviews)."""
    if detail.session.assignee_id:
        return detail.session.assignee
    latest = detail.sessions[0]
    return latest.assignee if latest.assignee_id else None


def _case_url(session_id: int) -> str:
    return reverse("admin:kyc_case_change", args=[session_id])


def _propose(request, model_admin, session_id):
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            review = decisions.review_propose(
                session_id=session_id,
                outcome=form.cleaned_data["outcome"],
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                actor=request.user,
            )
        except ReviewError as exc:
            form.add_error(None, str(exc))
        else:
            if review.state == Review.State.AWAITING_CONFIRMATION:
                if review.is_override:
                    message = "Override proposed: it takes effect when a supervisor confirms it."
                else:
                    message = (
                        "Approval proposed: it takes effect when a second person (a supervisor) confirms it."
                    )
            else:
                message = "Decision recorded; it is in effect."
            if request.POST.get("and_next"):
                return _go_to_next(request, message, exclude=session_id)
            return message
    # Bad input: the page again with what was typed, and why it was refused.
    return case_page(request, model_admin, session_id, review_form=form, status=400)


def _go_to_next(request, message: str, *, exclude: int | None = None):
    """Claim the next case for the user and open it ("save and go to next", "claim next case");
    back to the queue when there is none left."""
    following = claims.case_claim_next(actor=request.user, exclude=exclude)
    if following is None:
        queue = reverse("admin:kyc_case_changelist")
        return redirect(queue), f"{message} No unassigned case is left to claim."
    return redirect(_case_url(following.pk)), f"{message} The next case is assigned to you.".strip()


def claim_next(request, model_admin):
    """The queue's "Claim next case" button (a POST)."""
    if not model_admin.has_view_permission(request) or not request.user.has_perm("kyc.review_case"):
        raise PermissionDenied
    response, message = _go_to_next(request, "")
    messages.success(request, message.strip())
    return response


def _comment(request, model_admin, session_id):
    body = request.POST.get("body", "")
    try:
        comments.case_comment_add(session_id=session_id, body=body, actor=request.user)
    except ReviewError as exc:
        # Bad input: the page again with what was typed, and why it was refused.
        return case_page(request, model_admin, session_id, comment=(body, str(exc)), status=400)
    return "Comment added."


def _pending_review_id(request, session_id) -> int:
    # The case is the customer's: a proposal on an earlier session of theirs is part of it.
    review_id = request.POST.get("review", "")
    customer_id = VerificationSession.objects.values_list("customer_id", flat=True).get(pk=session_id)
    if (
        not review_id.isdigit()
        or not Review.objects.filter(pk=int(review_id), customer_id=customer_id).exists()
    ):
        raise ReviewError("That decision is not part of this case.")
    return int(review_id)


def _confirm(request, model_admin, session_id):
    review_id = _pending_review_id(request, session_id)
    # A confirmation is a decision of its own: never one click, always with what was checked.
    note = request.POST.get("note", "").strip()
    if not note or request.POST.get("checked") != "yes":
        raise ReviewError(
            "Not confirmed: tick that you checked the evidence, and say in the note what you checked."
        )
    review = decisions.review_confirm(review_id=review_id, actor=request.user, note=note[:5000])
    return f"{'Override' if review.is_override else 'Approval'} confirmed: it is in effect."


def _withdraw(request, model_admin, session_id):
    decisions.review_withdraw(review_id=_pending_review_id(request, session_id), actor=request.user)
    return "Proposal withdrawn: a new decision can be recorded."


def _reject(request, model_admin, session_id):
    review = decisions.review_reject(
        review_id=_pending_review_id(request, session_id),
        actor=request.user,
        note=request.POST.get("note", ""),
    )
    return f"{'Override' if review.is_override else 'Approval'} rejected: the earlier decision stands."


def _assign_me(request, model_admin, session_id):
    before = VerificationSession.objects.values_list("assignee_id", flat=True).get(pk=session_id)
    assignment.case_assign(session_id=session_id, assignee=request.user, actor=request.user)
    if before not in (None, request.user.pk):
        return "You took the case over."
    return "The case is assigned to you."


def _assign(request, model_admin, session_id):
    user_id = request.POST.get("assignee", "")
    assignee = assignment.assignable_users().filter(pk=user_id).first() if user_id.isdigit() else None
    if assignee is None:
        raise ReviewError("Choose someone who can work cases.")
    assignment.case_assign(session_id=session_id, assignee=assignee, actor=request.user)
    return f"The case is assigned to {assignee.get_username()}."


def _unassign(request, model_admin, session_id):
    assignment.case_unassign(session_id=session_id, actor=request.user)
    return "The case is unassigned."


def _redownload(request, model_admin, session_id):
    actions.case_redownload_media(session_id=session_id, actor=request.user)
    return "Asked the provider for the media again; missing files are being downloaded."


def _send_link(request, model_admin, session_id):
    customer_id = VerificationSession.objects.values_list("customer_id", flat=True).get(pk=session_id)
    actions.case_send_verification_link(customer_id=customer_id, actor=request.user)
    return "The verification link was emailed to the customer."


def _allow_sessions(request, model_admin, session_id):
    customer_id = VerificationSession.objects.values_list("customer_id", flat=True).get(pk=session_id)
    actions.case_allow_more_sessions(customer_id=customer_id, actor=request.user)
    return "The customer may start new sessions again today."


def _new_session(request, model_admin, session_id):
    new = actions.case_start_new_session(session_id=session_id, actor=request.user)
    return redirect(_case_url(new.pk)), "A new verification session was started."


def _hit_id(request, session_id) -> int:
    hit = request.POST.get("hit", "")
    customer_id = VerificationSession.objects.values_list("customer_id", flat=True).get(pk=session_id)
    if not hit.isdigit() or not ScreeningResult.objects.filter(pk=int(hit), customer_id=customer_id).exists():
        raise ScreeningError("That screening hit is not part of this case.")
    return int(hit)


def _screening_resolve(request, model_admin, session_id):
    result = screening.screening_resolve(
        result_id=_hit_id(request, session_id),
        resolution=request.POST.get("resolution", ""),
        reason=request.POST.get("reason", ""),
        actor=request.user,
    )
    if result.state == ScreeningResult.State.AWAITING_CONFIRMATION:
        return "False positive proposed: on a sanctions hit it takes effect when a second person confirms it."
    return f"Screening hit recorded as {result.get_state_display().lower()}."


def _screening_confirm(request, model_admin, session_id):
    screening.screening_confirm(result_id=_hit_id(request, session_id), actor=request.user)
    return "False positive confirmed."


def _screening_reject(request, model_admin, session_id):
    screening.screening_reject(
        result_id=_hit_id(request, session_id), actor=request.user, note=request.POST.get("note", "")
    )
    return "False positive refused: the hit is open again."


# What each action needs, checked before anything is read from the request (the services check
# again: an analyst assigning to someone else is refused there, with a reason).
REQUIRED_PERMISSION = {
    "propose": "kyc.review_case",
    "confirm": "kyc.confirm_override",
    "reject": "kyc.confirm_override",
    "withdraw": "kyc.review_case",  # the proposer, or a supervisor: the service tells them apart
    "assign-me": "kyc.review_case",
    "assign": "kyc.review_case",
    "unassign": "kyc.review_case",
    "redownload": "kyc.review_case",
    "send-link": "kyc.review_case",
    "new-session": "kyc.review_case",
    "allow-sessions": "kyc.review_case",
    "screening-resolve": "kyc.review_case",
    "screening-confirm": "kyc.confirm_override",
    "screening-reject": "kyc.confirm_override",
    "comment": "kyc.review_case",
}

ACTIONS = {
    "propose": _propose,
    "confirm": _confirm,
    "reject": _reject,
    "withdraw": _withdraw,
    "assign-me": _assign_me,
    "assign": _assign,
    "unassign": _unassign,
    "redownload": _redownload,
    "send-link": _send_link,
    "new-session": _new_session,
    "allow-sessions": _allow_sessions,
    "screening-resolve": _screening_resolve,
    "screening-confirm": _screening_confirm,
    "screening-reject": _screening_reject,
    "comment": _comment,
}


@require_POST
def case_action(request, model_admin, object_id, action):
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404("No such action.")
    if not model_admin.has_view_permission(request):
        raise PermissionDenied(missing_permission("kyc.view_case"))
    if not request.user.has_perm(REQUIRED_PERMISSION[action]):
        raise PermissionDenied(missing_permission(REQUIRED_PERMISSION[action]))
    session_id = int(object_id)
    if not VerificationSession.objects.filter(pk=session_id).exists():
        raise Http404("No such case.")
    try:
        result = handler(request, model_admin, session_id)
    except (ReviewError, ScreeningError) as exc:
        messages.error(request, str(exc))
        return redirect(_case_url(session_id))
    if isinstance(result, tuple):
        response, message = result
        messages.success(request, message)
        return response
    if isinstance(result, str):
        messages.success(request, result)
        return redirect(_case_url(session_id))
    return result
