"""Facts a provider sends about a person rather than a session (PERSON_CHANGED, PERSON_DELETED).

Applying a person's deletion erases the customer (kyc/operations/erasure.py): a cross-app operation,
above kyc.services. Called by the inbound processor (kyc/operations/inbound.py).
"""

from __future__ import annotations

import logging

from django.utils import timezone

from kyc.audit import audit_record
from kyc.models import ProviderAccount, VerificationSession
from kyc.operations.erasure import customer_erase
from kyc.services.screening import screening_record
from kyc.services.transitions import PROVIDER_ACTOR
from kyc.services.updates import ApplyResult
from providers.base import PERSON_CHANGED, PERSON_DELETED, PersonUpdate
from providers.capabilities import PersonDeletionCheck
from providers.registry import get_provider

logger = logging.getLogger(__name__)


def person_update_apply(*, provider: str, update: PersonUpdate) -> ApplyResult:
    """Apply a fact about a person at the provider, exactly once (its dedupe key).

    "changed": the person is read again when the fact does not say what changed
    (Provider.fetch_person), and a screening result it carries is kept on the customer (a hit
    holds the customer for review, kyc.screening). "deleted": the provider erased the person
    (Solaris: a person who did not become a customer within 90 days), and we must erase ours at
    once: the customer is erased (kyc/operations/erasure.py), with the provider as the actor.
    """
    account = (
        ProviderAccount.objects.select_for_update()
        .select_related("customer")
        .filter(provider=provider, provider_person_id=update.provider_person_id)
        .first()
    )
    if account is None:
        # A person we never created a session for (made at the provider by someone else): there
        # is nothing of ours about them.
        logger.info("provider %s: %s about an unknown person", provider, update.kind)
        return ApplyResult.RECORDED
    if update.dedupe_key and account.last_update_key == update.dedupe_key:
        return ApplyResult.DUPLICATE
    account.last_update_key = update.dedupe_key[:200]
    if update.kind == PERSON_DELETED:
        return _person_deleted(account, provider=provider)
    if update.kind != PERSON_CHANGED:
        logger.info("provider %s: person update of kind %r ignored", provider, update.kind)
        account.save(update_fields=["last_update_key"])
        return ApplyResult.RECORDED

    fresh = (
        update
        if update.screening is not None
        else get_provider(provider).fetch_person(account.provider_person_id)
    )
    account.changed_at = timezone.now()
    account.save(update_fields=["changed_at", "last_update_key"])
    audit_record(
        action="customer.provider_person_changed",
        actor_label=PROVIDER_ACTOR.format(provider),
        customer_id=account.customer_id,
        object=account,
        after={"provider": provider, "screening": bool(fresh and fresh.screening)},
    )
    if fresh is not None and fresh.screening is not None:
        session = (
            VerificationSession.objects.select_for_update(of=("self",))
            .select_related("customer")
            .filter(customer_id=account.customer_id, provider=provider)
            .order_by("-created_at", "-id")
            .first()
        )
        if session is not None:
            screening_record(session=session, screening=fresh.screening)
    return ApplyResult.RECORDED


def _person_deleted(account: ProviderAccount, *, provider: str) -> ApplyResult:
    checker = get_provider(provider)
    if isinstance(checker, PersonDeletionCheck) and not checker.person_deleted(account.provider_person_id):
        # The provider still has the person: a replayed or misdirected notice, never grounds to
        # erase a customer. Kept in the audit trail for staff to see; nothing is erased.
        account.save(update_fields=["last_update_key"])
        logger.warning(
            "provider %s: a person deletion the provider does not confirm; nothing erased", provider
        )
        audit_record(
            action="customer.provider_person_deletion_unconfirmed",
            actor_label=PROVIDER_ACTOR.format(provider),
            customer_id=account.customer_id,
            object=account,
            after={"provider": provider, "erasure": False},
        )
        return ApplyResult.RECORDED
    account.deleted_at = account.deleted_at or timezone.now()
    account.save(update_fields=["deleted_at", "last_update_key"])
    audit_record(
        action="customer.provider_person_deleted",
        actor_label=PROVIDER_ACTOR.format(provider),
        customer_id=account.customer_id,
        object=account,
        after={"provider": provider, "erasure": True},
    )
    customer_erase(
        customer_id=account.customer_id,
        actor_label=PROVIDER_ACTOR.format(provider),
        request_ref=f"{provider}:person-deleted:{account.provider_person_id}",
    )
    return ApplyResult.APPLIED
