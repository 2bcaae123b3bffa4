"""Starting a verification (or resuming the one in progress), and asking the provider again."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kyc import selectors, start_limits, tasks
from kyc.audit import audit_record
from kyc.models import Customer, VerificationSession
from kyc.services.customers import customer_refresh_kyc_status
from providers.registry import get_provider


def verification_start(
    *,
    customer: Customer,
    provider: str | None = None,
    actor=None,
    actor_label: str = "",
    device_data: str = "",
) -> VerificationSession:
    """Create a session and ask the provider for it in a task (after commit). `device_data`: the
    end user's device fingerprint (the start page's script hook, KYC_DEVICE_FINGERPRINT_SCRIPT),
    handed to the provider with the request and not stored."""
    provider = provider or settings.KYC_DEFAULT_PROVIDER
    get_provider(provider)  # fail now, not in a task, on a provider that is not configured
    problems = start_limits.start_input_problems(customer)
    if problems:  # the provider would refuse it, after we paid for a session
        raise VerificationInputInvalid(problems)
    with transaction.atomic():
        # A new session of a customer whose case is open joins that case (kyc.reviews.queue_state):
        # the person working it keeps it.
        case = (
            customer.sessions.filter(queued_at__isnull=False, assignee__isnull=False)
            .order_by("-created_at", "-id")
            .values("assignee_id")
            .first()
        )
        now = timezone.now()
        session = VerificationSession.objects.create(
            customer=customer,
            provider=provider,
            created_by=actor,
            status_changed_at=now,
            start_fingerprint=start_limits.start_fingerprint(customer, provider),
            assignee_id=case["assignee_id"] if case else None,
            assigned_at=now if case else None,
        )
        audit_record(
            action="session.created",
            actor=actor,
            actor_label=actor_label,
            customer=customer,
            session=session,
            object=session,
            after={"status": session.status, "provider": provider, "assignee_id": session.assignee_id},
        )
        customer_refresh_kyc_status(customer=customer, actor=actor)
        args = (session.pk, device_data) if device_data else (session.pk,)
        transaction.on_commit(lambda: tasks.session_create_at_provider.delay(*args))
    return session


class VerificationRefused(Exception):
    """Policy does not let this customer start a new verification now (kyc.selectors)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class VerificationInputInvalid(Exception):
    """The customer's data would be refused by any provider: {field: why} (kyc/validators.py)."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(problems.values()))
        self.problems = problems


class VerificationProviderRefused(Exception):
    """The provider refused this customer's last session permanently, for the same data."""

    def __init__(self, session: VerificationSession):
        super().__init__(session.provider_error)
        self.session = session


class VerificationLimitReached(Exception):
    """The customer started the day's allowance of sessions (KYC_MAX_SESSIONS_PER_CUSTOMER_PER_DAY)."""

    def __init__(self, limit: int, retry_at):
        super().__init__(f"{limit} sessions in 24 hours")
        self.limit = limit
        self.retry_at = retry_at


def verification_start_or_resume(
    *,
    customer: Customer,
    provider: str | None = None,
    actor=None,
    actor_label: str = "",
    device_data: str = "",
) -> tuple[VerificationSession, bool]:
    """The session the customer should use now, and whether it is new: the one in progress (a
    disrupted session resumes, a resubmission continues on the same URL), else a new one when
    policy allows (raises VerificationRefused when it does not)."""
    with transaction.atomic():
        # The customer's row lock serializes two starts at once (a double click, two tabs, a
        # client retrying without an Idempotency-Key): the second one finds the first's session.
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        session = selectors.session_resumable_for(customer)
        if session is not None:
            return session, False
        refusal = selectors.verification_restart_refusal(customer)
        if refusal is not None:
            raise VerificationRefused(refusal)
        # Each of these would otherwise be one more session at the provider per request (a
        # script, a user reloading): checked under the same lock, so two requests cannot both
        # pass the cap.
        problems = start_limits.start_input_problems(customer)
        if problems:
            raise VerificationInputInvalid(problems)
        refused = start_limits.refused_session_to_repeat(customer, provider or settings.KYC_DEFAULT_PROVIDER)
        if refused is not None:
            raise VerificationProviderRefused(refused)
        retry_at = start_limits.cap_reached_until(customer)
        if retry_at is not None:
            raise VerificationLimitReached(start_limits.daily_cap(), retry_at)
        session = verification_start(
            customer=customer,
            provider=provider,
            actor=actor,
            actor_label=actor_label,
            device_data=device_data,
        )
    return session, True
