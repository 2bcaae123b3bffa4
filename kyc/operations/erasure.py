"""A customer's erasure on request (GDPR art. 17), within what AML law lets us erase.

Erased: the customer's name, email and date of birth; every evidence file (photos, videos); the
verified person and document data and raw payloads of the provider's decisions; the stored bodies
of the webhooks about the customer's sessions; the free-text notes of staff decisions and the
staff's comments on the cases (a reviewer may have written anything there); the API's stored
Idempotency-Key requests and responses about the customer (a creation's response holds the name
and email); what the business's notification receivers answered to the customer's events (free
text from another system). Kept, as the minimal
legal record: the customer's external reference and country, each session's statuses and times,
each decision's status, codes and time, each file's digest and size, the notification events (id,
external reference, statuses), and the whole audit trail (which never held personal data), to
which the erasure itself is added. Open sessions are closed, so that no later decision brings
personal data back. The sandbox's copy (the provider's side) is not touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.db import transaction
from django.utils import timezone

# An operation across apps (kyc/operations/__init__.py): what the api and notifications apps keep
# about the customer is erased with the rest.
from api.services import idempotency_forget_customer
from kyc import status as st
from kyc.audit import audit_record
from kyc.models import (
    CaseComment,
    Customer,
    Media,
    ProviderDecision,
    Review,
    ScreeningResult,
    VerificationSession,
)
from kyc.services.redaction import (
    decisions_redact,
    inbound_events_redact,
    media_purge,
    screening_results_redact,
    sessions_inbound_events,
)
from kyc.services.transitions import session_transition
from notifications.services import delivery_attempts_redact

PERSONAL_FIELDS = ("first_name", "last_name", "email", "date_of_birth")
# What a staff decision's notes read after erasure: the decision itself (outcome, reason from the
# list, who and when) stays, as the business must be able to show why it decided.
ERASED_NOTE = "[erased]"


@dataclass
class ErasureReport:
    customer_id: int
    already_erased: bool
    files_deleted: int = 0
    decisions_redacted: int = 0
    webhooks_redacted: int = 0
    sessions_closed: int = 0
    review_notes_redacted: int = 0
    comments_redacted: int = 0
    idempotency_records_deleted: int = 0
    delivery_responses_redacted: int = 0
    screening_results_redacted: int = 0

    def counts(self) -> dict[str, int]:
        """What was erased, by kind: for the audit entry and the API's answer."""
        return {k: v for k, v in asdict(self).items() if k not in ("customer_id", "already_erased")}


def customer_erase(
    *,
    customer_id: int,
    actor=None,
    actor_label: str = "",
    request_ref: str = "",
    progress: Callable[[int], None] | None = None,
) -> ErasureReport:
    """Erase one customer's personal data. Safe to run again (a second run finishes what an
    interrupted first one left, and records nothing new when there is nothing left)."""
    with transaction.atomic():
        # Row lock: an admin edit of the profile at this moment is serialized with the erasure.
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        report = ErasureReport(customer_id=customer_id, already_erased=customer.erased_at is not None)
        for session in VerificationSession.objects.select_for_update().filter(
            customer=customer, status__in=st.OPEN
        ):
            session_transition(
                session, st.ABANDONED, actor=actor, actor_label=actor_label or "system:erasure"
            )
            report.sessions_closed += 1
        for name in PERSONAL_FIELDS:
            setattr(customer, name, None if name == "date_of_birth" else "")
        customer.erased_at = customer.erased_at or timezone.now()
        customer.save(update_fields=[*PERSONAL_FIELDS, "erased_at", "updated_at"])

    media_ids = list(
        Media.objects.filter(session__customer_id=customer_id, purged_at=None).values_list("pk", flat=True)
    )
    for media_id in media_ids:
        report.files_deleted += media_purge(media_id=media_id)
        if progress:
            progress(1)
    sessions = VerificationSession.objects.filter(customer_id=customer_id)
    report.decisions_redacted = decisions_redact(ProviderDecision.objects.filter(session__in=sessions))
    report.screening_results_redacted = screening_results_redact(
        ScreeningResult.objects.filter(customer_id=customer_id)
    )
    report.webhooks_redacted = inbound_events_redact(
        sessions_inbound_events(list(sessions.values_list("pk", flat=True)))
    )

    # Reviews are never edited through their services; erasure is the one lawful exception, done
    # as a bulk update and recorded in the erasure's own audit entry.
    report.review_notes_redacted = (
        Review.objects.filter(customer_id=customer_id)
        .exclude(note=ERASED_NOTE, rejection_note__in=("", ERASED_NOTE))
        .update(note=ERASED_NOTE, rejection_note=ERASED_NOTE)
    )

    # Comments are never edited either (kyc/casework/comments.py): the same lawful exception. Who
    # commented and when stays.
    report.comments_redacted = (
        CaseComment.objects.filter(customer_id=customer_id).exclude(body=ERASED_NOTE).update(body=ERASED_NOTE)
    )

    report.idempotency_records_deleted = idempotency_forget_customer(
        customer_id=customer_id,
        session_refs=[str(ref) for ref in sessions.values_list("reference", flat=True)],
        review_ids=list(Review.objects.filter(customer_id=customer_id).values_list("pk", flat=True)),
    )
    report.delivery_responses_redacted = delivery_attempts_redact(customer_id=customer_id)

    changed = any(report.counts().values())
    if changed or not report.already_erased:
        audit_record(
            action="customer.erased",
            actor=actor,
            actor_label=actor_label,
            customer_id=customer_id,
            object=Customer(pk=customer_id),
            after={
                "fields": list(PERSONAL_FIELDS),
                **report.counts(),
                # The request's reference (a ticket number): the request itself is kept elsewhere.
                "request_ref": request_ref[:100],
            },
        )
    return report


def erasure_media_count(customer_id: int) -> int:
    """Files an erasure would delete (for a progress bar)."""
    return Media.objects.filter(session__customer_id=customer_id, purged_at=None).count()
