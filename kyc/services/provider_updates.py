"""A provider's session update applied, whatever kind of fact it is: a decision or progress
(kyc/services/updates.py), a hint to fetch the session's result first (the fetch is the truth), or a
hosted URL that came after the session id. Used by the inbound processor
(kyc/operations/inbound.py) and by polling (kyc/services/polling.py)."""

from __future__ import annotations

from kyc.models import VerificationSession
from kyc.selectors import session_person_id
from kyc.services import updates
from kyc.services.launch import session_hosted_url_record
from kyc.services.updates import ApplyResult
from providers.base import ProviderUpdate
from providers.registry import get_provider


def provider_update_apply(*, provider: str, update: ProviderUpdate) -> ApplyResult:
    if update.hosted_url and not session_hosted_url_record(
        provider=provider, provider_session_id=update.provider_session_id, url=update.hosted_url
    ):
        return ApplyResult.UNKNOWN_SESSION
    if not update.hint:
        return updates.session_apply_update(provider=provider, update=update)
    # Only "something changed": nothing of it is applied but the URL. Asked only for a session we
    # have, so that a hint that came first waits for it, as any event does (and is fetched then).
    customer_id = (
        VerificationSession.objects.filter(provider=provider, provider_session_id=update.provider_session_id)
        .values_list("customer_id", flat=True)
        .first()
    )
    if customer_id is None:
        return ApplyResult.UNKNOWN_SESSION
    fetched = get_provider(provider).fetch_update(
        update.provider_session_id,
        provider_person_id=session_person_id(customer_id=customer_id, provider=provider),
    )
    if fetched is None or fetched.hint:  # not decided yet (a hint's answer is never a hint again)
        return ApplyResult.RECORDED
    return provider_update_apply(provider=provider, update=fetched)
