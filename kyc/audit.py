"""The one way to write an AuditEvent."""

from __future__ import annotations

from typing import Any

from django.db import models

from kyc.models import AuditEvent


def audit_record(
    *,
    action: str,
    actor=None,
    actor_label: str = "",
    customer=None,
    customer_id: int | None = None,
    session=None,
    object: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    if actor is not None and not actor_label:
        actor_label = f"user:{actor.get_username()}"
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_label=actor_label or "system",
        customer_id=customer.pk if customer is not None else customer_id,
        session=session,
        object_type=object._meta.label_lower if object is not None else "",
        object_id=str(object.pk) if object is not None else "",
        before=before or {},
        after=after or {},
    )
