"""The provider's side of a session: created there (its id and hosted URL attached to ours), or the
provider's error recorded. Called by the task that asks the provider (kyc/tasks.py)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from kyc.audit import audit_record
from kyc.models import VerificationSession
from kyc.selectors import provider_person_id_for
from kyc.services.accounts import provider_account_record
from kyc.services.poll_schedule import session_poll_start
from kyc.services.transitions import PROVIDER_ACTOR
from kyc.session_urls import session_notification, session_return_url
from providers.base import CreatedSession, DocumentData, PersonData, ProviderError, SessionRequest
from providers.registry import get_provider
from webhooks.services import inbound_events_release_waiting


def session_request(*, session: VerificationSession, device_data: str = "") -> SessionRequest:
    """What the provider is asked for this session: its reference, return and notification URLs
    (with the session's notification token), the person. Made again, the same, for a provider
    that starts a new session at its side at each visit (Provider.launch, `request`)."""
    customer = session.customer
    notification_url, notification_token = session_notification(session)
    return SessionRequest(
        reference=str(session.reference),
        return_url=session_return_url(session),
        notification_url=notification_url,
        notification_token=notification_token,
        person=PersonData(
            first_name=customer.first_name, last_name=customer.last_name, date_of_birth=customer.date_of_birth
        ),
        document=DocumentData(country=customer.country) if customer.country else None,
        # The person the provider knows the customer as (a Solaris person, a Signicat dossier).
        provider_person_id=provider_person_id_for(customer_id=customer.pk, provider=session.provider),
        device_data=device_data,
    )


def session_poll_schedule(*, session_id: int, provider: str) -> bool:
    """Start polling a session, if its provider is polled: its first fetch one interval from now,
    written in the schedule with the session's creation (kyc/services/poll_schedule.py), so that a
    session is never created without its polling."""
    return session_poll_start(session_id=session_id, provider=provider)


def session_create_at_provider(*, session_id: int, device_data: str = "") -> VerificationSession:
    """Ask the provider for a session. Safe to run twice: a session that has its provider id
    already is left alone. Raises ProviderError when the provider is unavailable (to retry).
    `device_data`: the end user's device fingerprint, when the start page took one."""
    session = VerificationSession.objects.select_related("customer").get(pk=session_id)
    if session.provider_session_id or session.provider_error_permanent or session.parked_at:
        return session  # done, or waiting for a human (kyc/services/parking.py)
    VerificationSession.objects.filter(pk=session_id).update(
        provider_attempts=F("provider_attempts") + 1, provider_next_attempt_at=None
    )
    try:
        created = get_provider(session.provider).create_session(
            session_request(session=session, device_data=device_data)
        )
    except ProviderError as exc:
        session_record_provider_error(session_id=session.pk, error=exc)
        raise
    return session_attach_provider_session(session_id=session.pk, created=created)


def session_record_provider_error(*, session_id: int, error: ProviderError) -> None:
    VerificationSession.objects.filter(pk=session_id, provider_session_id__isnull=True).update(
        provider_error=str(error)[:1000], provider_error_permanent=error.permanent, updated_at=timezone.now()
    )


@transaction.atomic
def session_attach_provider_session(*, session_id: int, created: CreatedSession) -> VerificationSession:
    # The row lock makes two concurrent runs of the create task attach one provider session: the
    # second sees the first's id and leaves it (its provider session just expires unused).
    session = VerificationSession.objects.select_for_update().get(pk=session_id)
    if session.provider_session_id:
        return session
    session.provider_session_id = created.provider_session_id
    session.hosted_url = created.url
    session.provider_created_at = timezone.now()
    session.provider_error = ""
    session.provider_error_permanent = False
    session.save(
        update_fields=[
            "provider_session_id",
            "hosted_url",
            "provider_created_at",
            "provider_error",
            "provider_error_permanent",
            "updated_at",
        ]
    )
    audit_record(
        action="session.provider_session_created",
        actor_label=PROVIDER_ACTOR.format(session.provider),
        customer_id=session.customer_id,
        session=session,
        object=session,
        after={"provider_session_id": created.provider_session_id},
    )
    # The provider's person for this customer, and polling for a provider that must be polled.
    provider_account_record(
        customer_id=session.customer_id,
        provider=session.provider,
        provider_person_id=created.provider_person_id,
    )
    session_poll_schedule(session_id=session.pk, provider=session.provider)
    # Webhooks may have arrived before this commit (the provider is fast, our transaction slow):
    # they wait in the inbound store and are applied now.
    provider, provider_session_id = session.provider, session.provider_session_id
    transaction.on_commit(
        lambda: inbound_events_release_waiting(provider=provider, provider_session_id=provider_session_id)
    )
    return session
