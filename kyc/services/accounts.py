"""Customers at providers that keep a person (a Solaris person, a Signicat dossier).

A provider that needs a person before a session returns its id with the created session
(CreatedSession.provider_person_id); it is kept once per customer and provider and handed to the
next session (SessionRequest.provider_person_id), so the customer stays one person there; it is read with
kyc.selectors.provider_person_id_for. The facts
such providers send about the person (PERSON_CHANGED, PERSON_DELETED) are applied by
kyc/operations/person_updates.py.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from kyc.audit import audit_record
from kyc.models import ProviderAccount
from kyc.services.transitions import PROVIDER_ACTOR

logger = logging.getLogger(__name__)


def provider_account_record(
    *, customer_id: int, provider: str, provider_person_id: str
) -> ProviderAccount | None:
    """Keep the provider's person id for the customer (once: a second session reusing the person
    finds it kept). A person id the provider gives for another of our customers is refused, not
    moved (None, logged): two customers as one person at the provider is for a human to untangle."""
    if not provider_person_id:
        return None
    account = ProviderAccount.objects.filter(provider=provider, customer_id=customer_id).first()
    if account is not None:
        if account.provider_person_id != provider_person_id:
            logger.warning(
                "provider %s gave customer %s person %s; kept %s", provider, customer_id,
                provider_person_id, account.provider_person_id,
            )  # fmt: skip
        return account
    try:
        # A savepoint: the unique person id may be another customer's, and the caller's
        # transaction (the session's attach) must survive that.
        with transaction.atomic():
            account = ProviderAccount.objects.create(
                provider=provider, customer_id=customer_id, provider_person_id=provider_person_id
            )
    except IntegrityError:
        logger.warning("provider %s person %s belongs to another customer", provider, provider_person_id)
        return None
    audit_record(
        action="customer.provider_account_created",
        actor_label=PROVIDER_ACTOR.format(provider),
        customer_id=customer_id,
        object=account,
        after={"provider": provider, "provider_person_id": provider_person_id},
    )
    return account
