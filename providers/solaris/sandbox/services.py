"""Every state change of the sandbox: the only module that writes persons, identifications and
subscriptions.

Each change of an identification is one transaction that locks its row, so that two requests on
it (a double click on the hosted page, a control call racing the end user) cannot both move it.
Notifications are recorded inside that transaction and sent after it commits.
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from . import delivery, documents, payloads, signing
from .models import (
    FINAL_STATUSES,
    TRANSITIONS,
    Delivery,
    Document,
    Identification,
    Person,
    Screening,
    Status,
    Subscription,
)
from .tasks import deliver_notification

IDENTIFICATION = "IDENTIFICATION"
PERSON_CHANGED = "PERSON_CHANGED"
PERSON_DELETED = "PERSON_DELETED"
# Solaris's event types that a partner may subscribe to (its webhooks guide); the sandbox sends
# the first three, and accepts subscriptions to the others so a sync command can be tested.
EVENT_TYPES = frozenset(
    {
        IDENTIFICATION,
        PERSON_CHANGED,
        PERSON_DELETED,
        "PERSON_MOBILE_NUMBER_CREATED",
        "IDENTIFICATION_ORIGINATION",
        "BUSINESS_IDENTIFICATION",
        "ACCOUNT_CLOSURE",
        "ACCOUNT_BLOCK",
        "BOOKING",
        "QUESTIONS_REQUIRE_RESPONSE",
    }
)
# IDnow's estimate of the queue, in seconds, shown to the partner after PATCH …/request.
ESTIMATED_WAITING_TIME = 30
# How each outcome is reached from `pending`: through IDnow's verdict (pending_*) for success and
# failure, directly for the others.
ROUTES: dict[str, tuple[str, ...]] = {
    Status.SUCCESSFUL: (Status.PENDING, Status.PENDING_SUCCESSFUL, Status.SUCCESSFUL),
    Status.FAILED: (Status.PENDING, Status.PENDING_FAILED, Status.FAILED),
    Status.PENDING_SUCCESSFUL: (Status.PENDING, Status.PENDING_SUCCESSFUL),
    Status.PENDING_FAILED: (Status.PENDING, Status.PENDING_FAILED),
    Status.ABORTED: (Status.PENDING, Status.ABORTED),
    Status.EXPIRED: (Status.PENDING, Status.EXPIRED),
    Status.CANCELED: (Status.CANCELED,),
}
OUTCOMES = tuple(ROUTES)
FAILURE_REASONS = {
    Status.FAILED: "The identity could not be confirmed (sandbox).",
    Status.PENDING_FAILED: "The identity could not be confirmed (sandbox).",
}


class TransitionRefused(Exception):
    """The identification cannot go where it was asked to."""

    def __init__(self, current: str, wanted: str):
        super().__init__(f"{current} → {wanted}")
        self.current = current
        self.wanted = wanted


class SubscriptionRefused(Exception):
    """POST /v1/webhooks refused: a duplicate, or a handshake that did not get a 2xx."""


def notify(event_type: str, entity_id: str, body: dict[str, Any]) -> list[Delivery]:
    """Record one notification for every live subscription of `event_type`, each sent once the
    caller's transaction commits. Nothing when nobody subscribed: Solaris has nowhere to send it."""
    payload = delivery.body_bytes(body)
    deliveries = [
        Delivery.objects.create(
            subscription=subscription,
            event_type=event_type,
            entity_id=entity_id,
            url=subscription.url,
            body=payload,
            signature=signing.signature(payload, subscription.secret),
        )
        for subscription in Subscription.objects.filter(event_type=event_type, cancelled_at=None)
    ]
    for row in deliveries:
        transaction.on_commit(lambda pk=row.pk: deliver_notification.delay(pk))
    return deliveries


# --- persons -----------------------------------------------------------------------------------


def person_create(*, data: dict[str, Any]) -> Person:
    return Person.objects.create(data=data)


SCREENING_FIELDS = ("screening_progress", "risk_classification_status", "customer_vetting_status")


@transaction.atomic
def person_change(person_id: str, *, changes: dict[str, str]) -> Person:
    """Change the person's screening fields (if any are given) and send PERSON_CHANGED, whose body
    is empty: the receiver reads the person back (Solaris-Entity-Id names it)."""
    person = Person.objects.select_for_update().get(id=person_id, deleted_at=None)
    for field in SCREENING_FIELDS:
        if field in changes:
            setattr(person, field, changes[field])
    person.save()
    notify(PERSON_CHANGED, person.id, {})
    return person


@transaction.atomic
def person_delete(person_id: str) -> Person:
    """Solaris deletes a person's data (GDPR, 90 days without becoming a customer) and sends
    PERSON_DELETED; from then on the API answers 404 for the person."""
    person = Person.objects.select_for_update().get(id=person_id, deleted_at=None)
    person.data = {}
    person.deleted_at = timezone.now()
    person.save()
    Document.objects.filter(identification__person=person).delete()
    notify(PERSON_DELETED, person.id, {})
    return person


# --- identifications ---------------------------------------------------------------------------


@transaction.atomic
def identification_create(
    person: Person, *, method: str, language: str, reference: str | None, device_data: str | None
) -> Identification:
    identification = Identification.objects.create(
        person=person,
        method=method,
        language=language,
        reference=reference,
        device_data=[device_data] if device_data else [],
    )
    # Solaris sends IDENTIFICATION "on creation and on every status change".
    notify(IDENTIFICATION, identification.id, payloads.identification_hint(identification))
    return identification


def hosted_url(identification_id: str) -> str:
    return settings.KYC_PUBLIC_URL + reverse("solaris_sandbox:idnow", args=[identification_id])


@transaction.atomic
def identification_request(identification_id: str, *, device_data: str | None) -> Identification:
    """PATCH …/request: the IDnow link is issued and the identification becomes `pending`. Asked
    again while pending, it answers the same link (the partner may have lost the first answer)."""
    identification = Identification.objects.select_for_update().get(id=identification_id)
    if device_data:
        identification.device_data = [*identification.device_data, device_data]
    if identification.status == Status.PENDING:
        identification.save()
        return identification
    _move(identification, Status.PENDING)
    return identification


def link_lifetime() -> dt.timedelta:
    return dt.timedelta(seconds=settings.SOLARIS_SANDBOX_LINK_SECONDS) * settings.SIM_TIME_SCALE


def expire_if_stale(identification_id: str) -> None:
    """A link left unused for its lifetime expires, noticed when the identification is next read
    or visited (no clock process needed in development). Nothing is locked unless the link is
    stale: a read must not write, for in development the partner reading it (the app, maybe inside
    a transaction of its own) shares the SQLite database, where a write waits for every other."""
    stale_before = timezone.now() - link_lifetime()
    if not Identification.objects.filter(
        id=identification_id, status=Status.PENDING, requested_at__lte=stale_before
    ).exists():
        return
    with transaction.atomic():
        identification = Identification.objects.select_for_update().get(id=identification_id)
        stale = (
            identification.requested_at and identification.requested_at + link_lifetime() <= timezone.now()
        )
        if identification.status == Status.PENDING and stale:
            _move(identification, Status.EXPIRED)


@transaction.atomic
def identification_outcome(identification_id: str, *, status: str) -> list[str]:
    """Take the identification to `status` along its route (successful through
    pending_successful, failed through pending_failed), one notification per step. Returns the
    statuses it went through."""
    identification = Identification.objects.select_for_update().get(id=identification_id)
    current = identification.status
    route = ROUTES[status]
    if current in route:
        steps = list(route[route.index(current) + 1 :])
    elif current == Status.CREATED:
        steps = list(route)
    else:
        # E.g. pending_successful → failed: Solaris's review overturns IDnow's verdict.
        steps = [status]
    if not steps:
        raise TransitionRefused(current, status)
    for step in steps:
        _move(identification, step)
    return steps


def _move(identification: Identification, status: str) -> None:
    if status not in TRANSITIONS.get(identification.status, frozenset()):
        raise TransitionRefused(identification.status, status)
    identification.status = status
    if status == Status.PENDING:
        identification.url = hosted_url(identification.id)
        identification.requested_at = timezone.now()
    if status in (Status.PENDING_SUCCESSFUL, Status.PENDING_FAILED) and not identification.documents.exists():
        # IDnow's session is over: its files exist from now on, whatever Solaris decides.
        for generated in documents.identification_documents(identification.id, identification.person.data):
            Document.objects.create(
                identification=identification,
                document_type=generated.document_type,
                name=generated.name,
                content_type=generated.content_type,
                content=generated.content,
                size=len(generated.content),
            )
    identification.failure_reason = FAILURE_REASONS.get(status, identification.failure_reason)
    if status in FINAL_STATUSES:
        identification.completed_at = timezone.now()
    identification.save()
    notify(IDENTIFICATION, identification.id, payloads.identification_hint(identification))
    if status == Status.PENDING_SUCCESSFUL:
        _screen(identification.person)


def _screen(person: Person) -> None:
    """IDnow's success screens the person (as the public mock does): a change of the screening
    fields is announced by PERSON_CHANGED, never in the IDENTIFICATION body."""
    person = Person.objects.select_for_update().get(id=person.id)
    if person.screening_progress == Screening.SCREENED_ACCEPTED:
        return
    person.screening_progress = Screening.SCREENED_ACCEPTED
    person.risk_classification_status = "RISK_ACCEPTED"
    person.customer_vetting_status = "RISK_ACCEPTED"
    person.save()
    notify(PERSON_CHANGED, person.id, {})


# --- webhook subscriptions ---------------------------------------------------------------------


def subscription_create(*, event_type: str, url: str) -> Subscription:
    """POST /v1/webhooks: the receiver must answer the handshake with a 2xx before the
    subscription exists. The handshake runs outside any transaction: in development the receiving
    app shares the SQLite database."""
    if Subscription.objects.filter(event_type=event_type, url=url, cancelled_at=None).exists():
        raise SubscriptionRefused("Webhook already exists")
    problem = delivery.handshake(url)
    if problem:
        raise SubscriptionRefused(f"The subscription test call to {url} failed: {problem}")
    try:
        with transaction.atomic():
            return Subscription.objects.create(event_type=event_type, url=url)
    except IntegrityError:
        # Two partners' requests raced past the check above; the unique constraint kept one.
        raise SubscriptionRefused("Webhook already exists") from None


def subscription_delete(subscription_id: str) -> None:
    delivery.subscription_cancel(subscription_id, because="deleted by the partner")
