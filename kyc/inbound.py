"""What a provider's parsed notification asks of us, applied: a session's fact
(kyc.services.session_apply_update), a hint to fetch the session's result first (the fetch is
the truth), a hosted URL that came after the session id, or a fact about a person
(kyc/accounts.py). Called by the processing of stored events and by polling (kyc/polling.py)."""

from __future__ import annotations

from collections.abc import Iterable

from kyc import services
from kyc.accounts import person_update_apply
from kyc.launch import session_hosted_url_record
from kyc.models import VerificationSession
from kyc.services import ApplyResult
from providers.base import PersonUpdate, ProviderUpdate
from providers.registry import get_provider


def provider_updates_apply(
    *, provider: str, updates: Iterable[ProviderUpdate | PersonUpdate]
) -> list[ApplyResult]:
    """Apply each update; one result per update. Raises ProviderError when a hint's fetch fails
    (the stored event is then failed and replayable; polling tries again later)."""
    return [provider_update_apply(provider=provider, update=update) for update in updates]


def provider_update_apply(*, provider: str, update: ProviderUpdate | PersonUpdate) -> ApplyResult:
    if isinstance(update, PersonUpdate):
        return person_update_apply(provider=provider, update=update)
    if update.hosted_url and not session_hosted_url_record(
        provider=provider, provider_session_id=update.provider_session_id, url=update.hosted_url
    ):
        return ApplyResult.UNKNOWN_SESSION
    if not update.hint:
        return services.session_apply_update(provider=provider, update=update)
    # Only "something changed": nothing of it is applied but the URL. Asked only for a session we
    # have, so that a hint that came first waits for it, as any event does (and is fetched then).
    if not VerificationSession.objects.filter(
        provider=provider, provider_session_id=update.provider_session_id
    ).exists():
        return ApplyResult.UNKNOWN_SESSION
    fetched = get_provider(provider).fetch_update(update.provider_session_id)
    if fetched is None or fetched.hint:  # not decided yet (a hint's answer is never a hint again)
        return ApplyResult.RECORDED
    return provider_update_apply(provider=provider, update=fetched)
