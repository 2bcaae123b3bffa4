"""Customers: their profile, and their overall KYC status derived from their sessions and reviews."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from kyc import start_limits
from kyc import status as st
from kyc.audit import audit_record
from kyc.models import Customer, Review
from kyc.reviews import policy, risk
from kyc.reviews.queue_state import customer_queue_refresh, session_held_by_open_case
from notifications import services as notifications


@transaction.atomic
def customer_create(
    *,
    external_ref: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    date_of_birth=None,
    country: str = "",
    actor=None,
    actor_label: str = "",
) -> Customer:
    customer = Customer.objects.create(
        external_ref=external_ref,
        first_name=first_name,
        last_name=last_name,
        email=email,
        date_of_birth=date_of_birth,
        country=country.upper(),
    )
    audit_record(
        action="customer.created",
        actor=actor,
        actor_label=actor_label,
        customer=customer,
        object=customer,
        after={"external_ref": external_ref},
    )
    return customer


PROFILE_FIELDS = ("first_name", "last_name", "email", "date_of_birth", "country")


@transaction.atomic
def customer_update(*, customer: Customer, changed: list[str], actor=None) -> Customer:
    """Save edits to the customer's own profile fields (the admin form has set them on `customer`)."""
    fields = [f for f in changed if f in PROFILE_FIELDS]
    if not fields:
        return customer
    before = Customer.objects.values(*fields).get(pk=customer.pk)
    customer.country = customer.country.upper()
    customer.save(update_fields=[*fields, "updated_at"])
    # Field names only: the values are personal data and the audit trail outlives erasure.
    audit_record(
        action="customer.updated",
        actor=actor,
        customer=customer,
        object=customer,
        after={"fields": sorted(f for f in fields if before[f] != getattr(customer, f))},
    )
    if "country" in fields:  # the review policy may hold approvals by country (kyc.reviews.policy)
        customer_refresh_kyc_status(customer=customer, actor=actor)
    return customer


# A staff decision in effect is the final word: the provider decides, the business has the last say.
_REVIEW_STATUS = {
    "approve": Customer.KycStatus.VERIFIED,
    "decline": Customer.KycStatus.REJECTED,
    "request_resubmission": Customer.KycStatus.ACTION_REQUIRED,
}


def _derive_kyc_status(customer: Customer) -> str:
    """The customer's overall status: their latest session's effective final decision — the
    staff's when one is in effect (kyc.reviews), else the provider's; an approval that the review
    policy sends to a human, or that an earlier decline of the customer holds (their case is open,
    kyc.reviews.queue_state), is "in review" until a person decides."""
    # The hold-on-flags rule read with the latest session, in the same statement.
    latest = customer.sessions.annotate(held=risk.held_expression()).order_by("-created_at", "-id").first()
    if latest is None:
        return Customer.KycStatus.UNVERIFIED
    review = latest.reviews.filter(state=Review.State.EFFECTIVE).order_by("-effective_at", "-id").first()
    if review is not None:
        return _REVIEW_STATUS[review.outcome]
    # Held by an open case only if queued (customer_queue_refresh ran just before): an approval
    # that is not in the queue costs no further query on the decision path.
    if latest.status == st.APPROVED and (
        policy.requires_review(latest.status, customer.country)
        or (latest.queued_at is not None and session_held_by_open_case(latest))
    ):
        return Customer.KycStatus.IN_REVIEW
    if latest.status == st.APPROVED and latest.held:  # risk flags, screening hits
        return Customer.KycStatus.IN_REVIEW
    return {
        st.APPROVED: Customer.KycStatus.VERIFIED,
        st.DECLINED: Customer.KycStatus.REJECTED,
        st.REVIEW: Customer.KycStatus.IN_REVIEW,
        st.RESUBMISSION_REQUESTED: Customer.KycStatus.ACTION_REQUIRED,
        st.EXPIRED: Customer.KycStatus.ACTION_REQUIRED,
        st.ABANDONED: Customer.KycStatus.ACTION_REQUIRED,
    }.get(latest.status, Customer.KycStatus.IN_PROGRESS)


def customer_refresh_kyc_status(*, customer: Customer, actor=None, actor_label: str = "system") -> None:
    """Recompute the derived status, under the customer's row lock: two of the customer's sessions
    changing at once (each under its own session lock) would otherwise both derive from a stale
    view and the last writer could store the older answer. Lock order is session, then customer."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    # The review queue depends on the same facts (under the same lock).
    customer_queue_refresh(customer_id=customer.pk)
    new = _derive_kyc_status(customer)
    if new == customer.kyc_status:
        return
    before = customer.kyc_status
    customer.kyc_status = new
    customer.kyc_status_changed_at = timezone.now()
    customer.save(update_fields=["kyc_status", "kyc_status_changed_at", "updated_at"])
    audit_record(
        action="customer.kyc_status_changed",
        actor=actor,
        actor_label=actor_label,
        customer=customer,
        object=customer,
        before={"kyc_status": before},
        after={"kyc_status": new},
    )
    notifications.event_kyc_status_changed(customer=customer, before=before, after=new)


@transaction.atomic
def customer_lift_session_cap(*, customer_id: int, actor) -> Customer:
    """Staff let the customer start new sessions again today: the sessions so far stop counting
    toward the daily cap, and a provider's permanent refusal so far no longer blocks a retry."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    counted = start_limits.sessions_counted(customer)
    customer.session_cap_lifted_at = timezone.now()
    customer.save(update_fields=["session_cap_lifted_at", "updated_at"])
    audit_record(
        action="customer.session_cap_lifted",
        actor=actor,
        customer=customer,
        object=customer,
        before={"sessions_counted": counted},
        after={"sessions_counted": 0, "cap": start_limits.daily_cap()},
    )
    return customer
