"""A provider's session update applied, whatever kind of fact it is: a decision or progress
(kyc/services/updates.py), a hint that the session's result changed (the fetched result is the
truth), or a hosted URL that came after the session id. Used by the inbound processor
(kyc/operations/inbound.py) and by polling (kyc/services/polling.py)."""

from __future__ import annotations

import logging

from kyc.models import VerificationSession
from kyc.selectors import session_person_id
from kyc.services import updates
from kyc.services.launch import session_hosted_url_record
from kyc.services.media import media_store_inline
from kyc.services.poll_schedule import session_poll_soon
from kyc.services.updates import ApplyResult
from providers.base import ProviderUpdate
from providers.registry import get_provider

logger = logging.getLogger(__name__)


def provider_update_apply(
    *, provider: str, update: ProviderUpdate, notified_reference: str = ""
) -> ApplyResult:
    """Apply one update. `notified_reference`: the session reference of the notification token
    that authenticated the delivery (webhooks/tokens.py), "" when it was authenticated otherwise
    (a signature) or is no delivery (a fetch). With one, the delivery is about that session alone,
    whatever its body says: the token is all that is authentic about it."""
    if notified_reference:
        return _apply_notified(provider=provider, update=update, reference=notified_reference)
    if update.hosted_url and not session_hosted_url_record(
        provider=provider, provider_session_id=update.provider_session_id, url=update.hosted_url
    ):
        return ApplyResult.UNKNOWN_SESSION
    if not update.hint:
        return updates.session_apply_update(provider=provider, update=update)
    # Only "something changed": nothing of it is applied but its media and the URL. Asked only for
    # a session we have, so that a hint that came first waits for it, as any event does.
    session = (
        VerificationSession.objects.filter(provider=provider, provider_session_id=update.provider_session_id)
        .only("pk", "customer_id", "provider_session_id")
        .first()
    )
    if session is None:
        return ApplyResult.UNKNOWN_SESSION
    return _hint_follow(provider=provider, session=session, update=update)


def _apply_notified(*, provider: str, update: ProviderUpdate, reference: str) -> ApplyResult:
    session = (
        VerificationSession.objects.filter(provider=provider, reference=reference)
        .only("pk", "customer_id", "provider_session_id")
        .first()
    )
    if session is None:  # a token of ours for a session since deleted: nothing to wait for
        logger.warning("%s notification for a session we no longer have", provider)
        return ApplyResult.RECORDED
    if update.hint:
        # The session's own id, not the body's: a callback about an applicant a later launch
        # replaced (ShareID) is still this session's, and a body naming another session's id
        # reaches no other session.
        if update.hosted_url and session.provider_session_id:
            session_hosted_url_record(
                provider=provider, provider_session_id=session.provider_session_id, url=update.hosted_url
            )
        return _hint_follow(provider=provider, session=session, update=update)
    if update.provider_session_id != session.provider_session_id:
        # Not a hint, so it would be applied as it says: only to the session its token is for.
        logger.warning("%s notification names a session its token is not for: not applied", provider)
        return ApplyResult.RECORDED
    return provider_update_apply(provider=provider, update=update)


def _hint_follow(*, provider: str, session: VerificationSession, update: ProviderUpdate) -> ApplyResult:
    """A hint's media are kept (the evidence it carries: ShareID's callback images), its verdict is
    not: the session's result is fetched, now for a provider that is not polled, else by polling
    as soon as the provider allows (ShareID: one fetch per 5 s, which a fetch here beside the
    poller's could break)."""
    if update.media:
        media_store_inline(session_id=session.pk, items=update.media)
    fetcher = get_provider(provider)
    if fetcher.poll_interval is not None:
        session_poll_soon(session_id=session.pk, provider=provider)
        return ApplyResult.RECORDED
    if not session.provider_session_id:
        return ApplyResult.RECORDED
    fetched = fetcher.fetch_update(
        session.provider_session_id,
        provider_person_id=session_person_id(customer_id=session.customer_id, provider=provider),
    )
    if fetched is None or fetched.hint:  # not decided yet (a hint's answer is never a hint again)
        return ApplyResult.RECORDED
    return provider_update_apply(provider=provider, update=fetched)
