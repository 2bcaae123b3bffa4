"""Who works a case. One assignee at a time, and only they decide it (kyc.services.reviews);
taking a case someone else holds ("take over", audited as such), or giving one to someone else,
needs the reassign permission (supervisors). Every change is audited."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kyc.audit import audit_record
from kyc.models import VerificationSession
from kyc.services.reviews import REVIEW_CASE, ReviewError, require_permission

REASSIGN_CASE = "kyc.reassign_case"


def assignable_users():
    """Active staff who can work cases: the choices for "assign to"."""
    permission = Permission.objects.filter(content_type__app_label="kyc", codename="review_case")
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        # Through a group (the roles), directly, or as a superuser.
        .filter(
            Q(groups__permissions__in=permission) | Q(user_permissions__in=permission) | Q(is_superuser=True)
        )
        .distinct()
        .order_by("username")
    )


def _check(actor, session: VerificationSession, assignee) -> None:
    require_permission(actor, REVIEW_CASE)
    taking_from_someone = session.assignee_id not in (None, actor.pk)
    giving_to_someone = assignee is not None and assignee.pk != actor.pk
    if (taking_from_someone or giving_to_someone) and not actor.has_perm(REASSIGN_CASE):
        if taking_from_someone:
            raise ReviewError(
                f"This case is assigned to {session.assignee.get_username()}; a supervisor can reassign it."
            )
        raise ReviewError("Only a supervisor can assign cases to someone else.")
    if assignee is not None and not (
        assignee.is_active and assignee.is_staff and assignee.has_perm(REVIEW_CASE)
    ):
        raise ReviewError(f"{assignee.get_username()} cannot work cases.")


@transaction.atomic
def case_assign(*, session_id: int, assignee, actor) -> VerificationSession:
    """Assign (assignee=actor: "assign to me") or unassign (assignee=None)."""
    # The row lock: two analysts pressing "assign to me" at once would both see the case free and
    # the second would silently take it from the first; locked, the second sees the first's name.
    session = (
        VerificationSession.objects.select_for_update(of=("self",))
        .select_related("assignee")
        .get(pk=session_id)
    )
    _check(actor, session, assignee)
    if session.assignee_id == (assignee.pk if assignee else None):
        return session
    before = session.assignee_id
    session.assignee = assignee
    session.assigned_at = timezone.now() if assignee else None
    session.save(update_fields=["assignee", "assigned_at", "updated_at"])
    taken_over = assignee is not None and assignee.pk == actor.pk and before not in (None, actor.pk)
    audit_record(
        action="case.taken_over" if taken_over else "case.assigned" if assignee else "case.unassigned",
        actor=actor,
        customer_id=session.customer_id,
        session=session,
        object=session,
        before={"assignee_id": before},
        after={"assignee_id": assignee.pk if assignee else None},
    )
    return session


def case_unassign(*, session_id: int, actor) -> VerificationSession:
    return case_assign(session_id=session_id, assignee=None, actor=actor)


@transaction.atomic
def cases_assign(*, session_ids: Iterable[int], assignee, actor) -> tuple[int, list[str]]:
    """Bulk assignment: (number changed, why the others were left). All or nothing on error."""
    changed, refused = 0, []
    for session_id in sorted(set(session_ids)):  # a fixed lock order: two bulk runs cannot deadlock
        before = VerificationSession.objects.values_list("assignee_id", flat=True).get(pk=session_id)
        try:
            with transaction.atomic():
                session = case_assign(session_id=session_id, assignee=assignee, actor=actor)
        except ReviewError as exc:
            refused.append(str(exc))
            continue
        changed += session.assignee_id != before
    return changed, refused
