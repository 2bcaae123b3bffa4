"""The JSON shapes of Solaris's API (../README.md, "Endpoints"), from the sandbox's rows."""

import datetime as dt
from typing import Any

from .models import Document, Identification, Person, Subscription


def timestamp(value: dt.datetime | None) -> str | None:
    # Solaris writes UTC with milliseconds and a Z (the docs' "2021-09-14T18:18:28.000Z").
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def person_json(person: Person) -> dict[str, Any]:
    return {
        **person.data,
        "id": person.id,
        "screening_progress": person.screening_progress,
        "risk_classification_status": person.risk_classification_status,
        "customer_vetting_status": person.customer_vetting_status,
    }


def identification_json(identification: Identification, *, documents: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": identification.id,
        "reference": identification.reference,
        "url": identification.url,
        "status": identification.status,
        "completed_at": timestamp(identification.completed_at),
        "method": identification.method,
        "proof_of_address_type": None,
        "proof_of_address_issued_at": None,
        "language": identification.language,
        "person_id": identification.person_id,
        "failure_reason": identification.failure_reason,
        "iban": None,
        "authorization_expires_at": None,
        "confirmation_expires_at": None,
        "provider_status_code": None,
    }
    if documents:
        body["documents"] = [document_json(d) for d in identification.documents.defer("content")]
    return body


def identification_hint(identification: Identification) -> dict[str, Any]:
    """The IDENTIFICATION notification's body: the docs' fields, and `person_id` as the public mock
    adds it, so that the receiver can GET the identification (the notification is only a hint)."""
    return {
        "id": identification.id,
        "reference": identification.reference,
        "url": identification.url,
        "status": identification.status,
        "completed_at": timestamp(identification.completed_at),
        "method": identification.method,
        "person_id": identification.person_id,
    }


def document_json(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "name": document.name,
        "content_type": document.content_type,
        "document_type": document.document_type,
        "size": document.size,
        "customer_accessible": False,
        "created_at": timestamp(document.created_at),
        "deleted": False,
    }


def subscription_json(subscription: Subscription) -> dict[str, Any]:
    # The secret is in every answer, as the docs' GET example shows; it is the partner's own.
    return {
        "id": subscription.id,
        "event_type": subscription.event_type,
        "url": subscription.url,
        "secret": subscription.secret,
    }
