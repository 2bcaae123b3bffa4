"""Case actions that reach outside the case: email the customer their verification link, start a
new session, fetch the evidence from the provider again."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from kyc import status as st
from kyc import tasks
from kyc.audit import audit_record
from kyc.links import start_url
from kyc.models import Customer, Review, VerificationSession
from kyc.services import customers, sessions
from kyc.services.reviews import (
    REVIEW_CASE,
    ReviewError,
    check_case_holder,
    check_nothing_pending,
    require_permission,
)

LINK_SUBJECT = "Please verify your identity"
LINK_BODY = """Hello,

to finish verifying your identity, please open this link:

{url}

The link is personal and works for {days} days.
"""


def can_start_new_session(session: VerificationSession, effective_outcome: str | None) -> bool:
    """After a decline or expiry the provider needs a new session (Veriff: a declined or expired
    session cannot be used again); likewise when staff asked for a resubmission."""
    return session.status in st.RESTARTABLE or effective_outcome in ("request_resubmission", "decline")


def case_send_verification_link(*, customer_id: int, actor) -> None:
    """Email the customer their signed start link (it resumes an open session or starts anew)."""
    require_permission(actor, REVIEW_CASE)
    customer = Customer.objects.get(pk=customer_id)
    if not customer.email:
        raise ReviewError("The customer has no email address.")
    body = LINK_BODY.format(url=start_url(customer.pk), days=max(1, settings.KYC_LINK_MAX_AGE // 86400))
    try:
        send_mail(LINK_SUBJECT, body, None, [customer.email])
    except OSError as exc:  # SMTP errors are OSErrors: the staff member sees it and can retry
        raise ReviewError(f"The email could not be sent ({type(exc).__name__}); try again later.") from exc
    # Which channel, never the address: the trail outlives the customer's personal data.
    audit_record(
        action="customer.verification_link_sent",
        actor=actor,
        customer=customer,
        object=customer,
        after={"channel": "email"},
    )


def case_start_new_session(*, session_id: int, actor) -> VerificationSession:
    require_permission(actor, REVIEW_CASE)
    with transaction.atomic():
        session = (
            VerificationSession.objects.select_for_update(of=("self",))
            .select_related("customer")
            .get(pk=session_id)
        )
        latest = session.customer.sessions.order_by("-created_at", "-id").first()
        if latest.pk != session.pk:
            raise ReviewError("The customer already has a newer session.")
        effective = (
            session.reviews.filter(state=Review.State.EFFECTIVE).values_list("outcome", flat=True).first()
        )
        if not can_start_new_session(session, effective):
            raise ReviewError(
                "A new session is for a declined or expired verification; "
                f"this one is {session.get_status_display()}."
            )
        # The case is locked like a decision: its assignee acts, and not while a proposal waits
        # (a new session would leave the proposal on a session the customer has moved on from).
        check_case_holder(session, actor, take=False)
        check_nothing_pending(session)
    try:
        return sessions.verification_start(customer=session.customer, actor=actor)
    except sessions.VerificationInputInvalid as invalid:
        raise ReviewError(f"{invalid} Correct the customer record first.") from None


def case_allow_more_sessions(*, customer_id: int, actor) -> None:
    """Staff let a customer past today's session limit (kyc/start_limits.py)."""
    require_permission(actor, REVIEW_CASE)
    customers.customer_lift_session_cap(customer_id=customer_id, actor=actor)


def case_redownload_media(*, session_id: int, actor) -> None:
    """List the provider's media again and fetch whatever is not stored (failed, missing, new)."""
    require_permission(actor, REVIEW_CASE)
    with transaction.atomic():
        session = VerificationSession.objects.get(pk=session_id)
        if not session.provider_session_id:
            raise ReviewError("The provider has no session yet, so no media.")
        audit_record(
            action="media.redownload_requested",
            actor=actor,
            customer_id=session.customer_id,
            session=session,
            object=session,
        )
        transaction.on_commit(lambda: tasks.session_media_sync.delay(session.pk))
