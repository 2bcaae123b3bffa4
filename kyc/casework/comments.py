"""Comments on a case: a thread beside the decision note, for what staff want to tell each other
("called the customer", "waiting for a utility bill"). Written once, never edited or deleted, and
every one audited, as a compliance record must be."""

from __future__ import annotations

from django.db import transaction

from kyc.audit import audit_record
from kyc.models import CaseComment, VerificationSession
from kyc.services.reviews import REVIEW_CASE, ReviewError, require_permission

COMMENT_MAX_LENGTH = 5000


@transaction.atomic
def case_comment_add(*, session_id: int, body: str, actor) -> CaseComment:
    """Add a comment to the case. Refused with a ReviewError (the message is for the staff member)
    when it is empty or too long; nothing is written then."""
    require_permission(actor, REVIEW_CASE)
    text = (body or "").strip()
    if not text:
        raise ReviewError("Write a comment first: an empty one is not saved.")
    if len(text) > COMMENT_MAX_LENGTH:
        raise ReviewError(
            f"A comment is at most {COMMENT_MAX_LENGTH} characters; this one has {len(text)}. "
            "Shorten it, or split it in two."
        )
    session = VerificationSession.objects.only("pk", "customer_id").get(pk=session_id)
    comment = CaseComment.objects.create(
        session=session, customer_id=session.customer_id, author=actor, body=text
    )
    # The trail says who commented where and how much; the words stay in the comment (they may
    # name the customer, and the trail keeps no personal values).
    audit_record(
        action="case.commented",
        actor=actor,
        customer_id=session.customer_id,
        session=session,
        object=comment,
        after={"length": len(text)},
    )
    return comment


def case_comments(customer_id: int) -> list[CaseComment]:
    """The customer's comments over all their sessions, oldest first (one query)."""
    return list(
        CaseComment.objects.filter(customer_id=customer_id)
        .select_related("author")
        .order_by("created_at", "id")
    )
