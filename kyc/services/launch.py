"""Sending the end user to the provider's hosted flow: a URL stored with the session, one that
came after the session id (Solaris: in a notification), or one made afresh at each visit
(single-use SDK or capture tokens: ShareID, Signicat), never stored then.

A launch made afresh may begin a new session at the provider (ShareID: an SDK token comes only
with a new onboarding, which has its own applicant id, Launch.provider_session_id): that id becomes
the session's from then on, the earlier ones kept in its audit trail."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from kyc import status as st
from kyc.audit import audit_record
from kyc.models import VerificationSession
from kyc.selectors import session_person_id
from kyc.services.attempts import attempt_for, attempt_mark_submitted
from kyc.services.poll_schedule import session_poll_start
from kyc.services.provider_sessions import session_request
from kyc.services.transitions import session_transition
from providers.base import Launch
from providers.registry import get_provider

# Who a launch acts for: the end user's visit asked for it.
LAUNCH_ACTOR = "end-user"


def session_launch(session: VerificationSession) -> Launch | None:
    """Where to send the end user now; None while the provider has given no URL yet (the page
    waits and polls), or when the session closed while the launch was made. Raises ProviderError
    (the page offers a retry)."""
    if not session.provider_session_id:
        return Launch(url=session.hosted_url) if session.hosted_url else None
    provider = get_provider(session.provider)
    launched_from = session.provider_session_id
    launch = provider.launch(
        launched_from,
        stored_url=session.hosted_url,
        provider_person_id=session_person_id(customer_id=session.customer_id, provider=session.provider),
        # Only a provider launched afresh at each visit may need it (to start a new session at its
        # side); the others are spared building it (the person's look-up, the token).
        request=session_request(session=session) if provider.launch_per_visit else None,
    )
    if launch is None or not launch.provider_session_id or launch.provider_session_id == launched_from:
        return launch
    replaced = session_provider_session_replace(
        session_id=session.pk, provider_session_id=launch.provider_session_id
    )
    return launch if replaced else None


def session_provider_session_replace(*, session_id: int, provider_session_id: str) -> bool:
    """Make `provider_session_id` (a new session the provider began for this visit) the session's
    id: audited with the one it replaces, the provider's lifetime restarted, polled from now on.
    After a resubmission request it is the new attempt (resubmission_requested → started, as
    Veriff's next attempt starts). False when the session is no longer open (decided or closed
    while the launch was made): nothing changes, and the launch is not used."""
    with transaction.atomic():
        # The row lock serializes two visits at once (two tabs, a reload while the first launch
        # is under way), each of which began its own session at the provider: each replacement
        # reads the id the other one set, so every id the session had is in its audit trail, and
        # a resubmission's new attempt is made once, not once per visit.
        session = (
            VerificationSession.objects.select_for_update(of=("self",))
            .select_related("customer")
            .get(pk=session_id)
        )
        if session.status not in st.OPEN:
            return False
        before = session.provider_session_id
        if before == provider_session_id:
            return True
        session.provider_session_id = provider_session_id
        session.provider_created_at = timezone.now()  # the provider's lifetime starts again
        session.save(update_fields=["provider_session_id", "provider_created_at", "updated_at"])
        audit_record(
            action="session.provider_session_replaced",
            actor_label=LAUNCH_ACTOR,
            customer_id=session.customer_id,
            session=session,
            object=session,
            before={"provider_session_id": before},
            after={"provider_session_id": provider_session_id},
        )
        if session.status == st.RESUBMISSION_REQUESTED:
            _attempt_begin(session, previous=before or "", new=provider_session_id)
            session_transition(session, st.STARTED, actor_label=LAUNCH_ACTOR)
        elif before:
            # A visit again within one attempt (a reload, a second tab): the attempt goes on at
            # the new provider session, whose decision is its own.
            session.attempts.filter(provider_attempt_id=before).exclude(status__in=st.DECISIONS).update(
                provider_attempt_id=provider_session_id
            )
        session_poll_start(session_id=session.pk, provider=session.provider)
    return True


def _attempt_begin(session: VerificationSession, *, previous: str, new: str) -> None:
    """The new provider session is the session's next attempt. The one before it becomes an attempt
    too when none was recorded yet (a provider without attempt events: its first decision named no
    attempt and is bound to it now), so that the case page counts both."""
    if previous and not session.attempts.exists():
        attempt_for(session, previous, st.RESUBMISSION_REQUESTED, by_event=True)
    attempt_for(session, new, st.STARTED)


def session_returned_from_hosted_flow(*, session_id: int) -> bool:
    """The end user came back to our return page from a hosted flow launched afresh at each visit
    (launch_per_visit), having finished it: the session becomes `submitted`, their action, audited.
    From then on the session link leads to the return page, not to a fresh launch, which would
    replace the applicant whose result is still to come (and whose result would then never be
    fetched). Such a provider tells us nothing when the end user finishes (ShareID sends no event
    before its result), so their coming back is the only sign of it; leaving without finishing is
    said by a marker on the way back (kyc/flow/views.py, LEFT_PARAM), and never comes here.
    A provider that reports progress itself (Veriff, Solaris: their webhooks) is left to do so.
    False when nothing changed: another provider, or the session no longer waiting for the end
    user (submitted already, decided or closed meanwhile)."""
    with transaction.atomic():
        # The row lock orders the end user's return with a decision the poller applies at the
        # same moment: a decision first leaves nothing to do here; a return first is followed by
        # the decision (submitted → decided), never the other way round.
        session = (
            VerificationSession.objects.select_for_update(of=("self",))
            .select_related("customer")
            .get(pk=session_id)
        )
        if session.status not in (st.CREATED, st.STARTED):
            return False
        if not get_provider(session.provider).launch_per_visit:
            return False
        session_transition(session, st.SUBMITTED, actor_label=LAUNCH_ACTOR)
        attempt_mark_submitted(session_id=session.pk, provider_attempt_id=session.provider_session_id)
    return True


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
