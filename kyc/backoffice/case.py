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
from django.views.decorators.http import require_POST

from kyc.models import Case, Review, ReviewReason, VerificationSession
from kyc.queue import case_detail, explain_decision
from kyc.reviews import actions, assignment, decisions
from kyc.reviews.decisions import ReviewError
from kyc.reviews.policy import FOUR_EYES_LABELS, PROVIDER_OUTCOME, REVIEWABLE_STATUSES, is_high_risk


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


def case_page(request, model_admin, object_id, *, review_form=None, status=200):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
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
        "can_start_new": detail.is_latest
        and actions.can_start_new_session(session, detail.effective.outcome if detail.effective else None),
    }
    context["decision_explained"] = [
        line
        for line in (explain_decision(detail.decision, session.provider) if detail.decision else ())
        if line
    ]
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
        )
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/kyc/case/case_page.html", context, status=status)


FOUR_EYES_WORDS = {"override": "it overrides the provider's decision", **FOUR_EYES_LABELS}


def _case_holder(detail):
    """Who works the customer's case: the assignee of the session shown, else of their latest
    session (the queue's row); only they decide (kyc.reviews.decisions)."""
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
                    return "Override proposed: it takes effect when a supervisor confirms it."
                return "Approval proposed: it takes effect when a second person (a supervisor) confirms it."
            return "Decision recorded; it is in effect."
    # Bad input: the page again with what was typed, and why it was refused.
    return case_page(request, model_admin, session_id, review_form=form, status=400)


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
    review = decisions.review_confirm(review_id=_pending_review_id(request, session_id), actor=request.user)
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


def _new_session(request, model_admin, session_id):
    new = actions.case_start_new_session(session_id=session_id, actor=request.user)
    return redirect(_case_url(new.pk)), "A new verification session was started."


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
}


@require_POST
def case_action(request, model_admin, object_id, action):
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404("No such action.")
    if not model_admin.has_view_permission(request) or not request.user.has_perm(REQUIRED_PERMISSION[action]):
        raise PermissionDenied
    session_id = int(object_id)
    if not VerificationSession.objects.filter(pk=session_id).exists():
        raise Http404("No such case.")
    try:
        result = handler(request, model_admin, session_id)
    except ReviewError as exc:
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
