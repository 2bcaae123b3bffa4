"""The processor of the webhooks store's events (settings.WEBHOOKS_EVENT_PROCESSOR): a stored
event read by its provider package and applied to its session. The store (webhooks/processing.py)
claims the event and marks what came of it; what the event means is known here only. A cross-app
operation: a fact about a person can erase a customer (kyc/operations/person_updates.py)."""

from __future__ import annotations

from collections.abc import Iterable

from kyc import tasks
from kyc.audit import audit_batch
from kyc.models import ProviderDecision, VerificationSession
from kyc.operations.person_updates import person_update_apply
from kyc.services.provider_updates import provider_update_apply
from kyc.services.redaction import decisions_redact, inbound_events_redact
from kyc.services.updates import ApplyResult
from providers.base import PersonUpdate, ProviderUpdate, WebhookRequest
from providers.registry import get_provider
from webhooks.models import InboundEvent
from webhooks.processing import Applied


class InboundEventProcessor:
    """webhooks.processing.EventProcessor for the KYC domain."""

    def apply(self, event: InboundEvent) -> Applied:
        request = WebhookRequest(
            kind=event.kind, headers=event.headers, body=bytes(event.body), query=event.query
        )
        updates_read = get_provider(event.provider).parse_webhook(request)
        # A decision's audit entries (decision, session status, customer status) are chained
        # together at the end of the event's transaction (kyc/audit.py).
        with audit_batch():
            results = provider_updates_apply(
                provider=event.provider, updates=updates_read, notified_reference=event.session_reference
            )
        provider_session_id = event.provider_session_id
        if not provider_session_id and updates_read:
            provider_session_id = getattr(updates_read[0], "provider_session_id", "")
        _redact_if_erased(event, provider_session_id)
        return Applied(
            waiting=ApplyResult.UNKNOWN_SESSION in results, provider_session_id=provider_session_id
        )

    def session_known(self, provider: str, provider_session_id: str) -> bool:
        return VerificationSession.objects.filter(
            provider=provider, provider_session_id=provider_session_id
        ).exists()

    def processing(self):
        # A committed decision's media listed right after it, in the same task (kyc/tasks.py).
        return tasks.media_sync_after()


inbound_event_processor = InboundEventProcessor()


def provider_updates_apply(
    *, provider: str, updates: Iterable[ProviderUpdate | PersonUpdate], notified_reference: str = ""
) -> list[ApplyResult]:
    """Apply each update; one result per update. Raises ProviderError when a hint's fetch fails
    (the stored event is then failed and replayable; polling tries again later).
    `notified_reference`: the session whose notification token authenticated the delivery
    (InboundEvent.session_reference), the only session its updates may be about."""
    return [
        person_update_apply(provider=provider, update=update)
        if isinstance(update, PersonUpdate)
        else provider_update_apply(provider=provider, update=update, notified_reference=notified_reference)
        for update in updates
    ]


def _redact_if_erased(event: InboundEvent, provider_session_id: str) -> None:
    """A delivery about an erased customer's session (a provider's late retry) keeps no personal
    data: the fact is applied, its body and the decision's person data are blanked at once."""
    session = VerificationSession.objects.filter(
        provider=event.provider,
        provider_session_id=provider_session_id,
        customer__erased_at__isnull=False,
    ).first()
    if session is not None:
        inbound_events_redact(InboundEvent.objects.filter(pk=event.pk))
        decisions_redact(ProviderDecision.objects.filter(session=session))
