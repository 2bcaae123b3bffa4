"""Sending the end user to the provider's hosted flow: a URL stored with the session, one that
came after the session id (Solaris: in a notification), or one made afresh at each visit
(single-use SDK or capture tokens: ShareID, Signicat), never stored then."""

from __future__ import annotations

from django.utils import timezone

from kyc.models import VerificationSession
from kyc.selectors import session_person_id
from providers.base import Launch
from providers.registry import get_provider


def session_launch(session: VerificationSession) -> Launch | None:
    """Where to send the end user now; None while the provider has given no URL yet (the page
    waits and polls). Raises ProviderError (the page offers a retry)."""
    if not session.provider_session_id:
        return Launch(url=session.hosted_url) if session.hosted_url else None
    return get_provider(session.provider).launch(
        session.provider_session_id,
        stored_url=session.hosted_url,
        provider_person_id=session_person_id(customer_id=session.customer_id, provider=session.provider),
    )


def session_launchable(session: VerificationSession) -> bool:
    """Whether the session page can send the end user on now, without asking the provider (the
    waiting page's poll must not spend a single-use launch)."""
    if session.hosted_url:
        return True
    return bool(session.provider_session_id) and get_provider(session.provider).launch_per_visit


def session_hosted_url_record(*, provider: str, provider_session_id: str, url: str) -> bool:
    """Keep a hosted URL the provider gave after the session id (ProviderUpdate.hosted_url).
    False when we have no such session (yet)."""
    sessions = VerificationSession.objects.filter(provider=provider, provider_session_id=provider_session_id)
    if not sessions.exists():
        return False
    sessions.exclude(hosted_url=url).update(hosted_url=url[:2000], updated_at=timezone.now())
    return True
