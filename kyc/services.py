"""Every write to the KYC domain goes through here (STYLE.md: `<entity>_<action>`, keyword-only,
atomic). Views, admin actions, API endpoints and tasks call these and nothing else.
"""

from __future__ import annotations

import enum
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from kyc import start_limits
from kyc import status as st
from kyc.audit import audit_record
from kyc.models import Attempt, Customer, Media, ProviderDecision, RiskFlag, VerificationSession
from kyc.ordering import status_from_facts
from notifications import services as notifications
from providers.base import (
    CreatedSession,
    DocumentData,
    MediaItem,
    PersonData,
    ProviderError,
    ProviderUpdate,
    SessionRequest,
)
from providers.registry import get_provider

logger = logging.getLogger(__name__)

PROVIDER_ACTOR = "provider:{}"


class ApplyResult(enum.Enum):
    APPLIED = "applied"  # the status moved
    RECORDED = "recorded"  # kept (decision, attempt, inbound event) but the status did not move
    DUPLICATE = "duplicate"  # this exact fact was applied before
    UNKNOWN_SESSION = "unknown_session"  # we have no session with this provider id (yet)


# --- customers ------------------------------------------------------------------------------
@transaction.atomic
def customer_create(
    *,
    external_ref: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    date_of_birth=None,
    country: str = "",
    actor=None,
    actor_label: str = "",
) -> Customer:
    customer = Customer.objects.create(
        external_ref=external_ref,
        first_name=first_name,
        last_name=last_name,
        email=email,
        date_of_birth=date_of_birth,
        country=country.upper(),
    )
    audit_record(
        action="customer.created",
        actor=actor,
        actor_label=actor_label,
        customer=customer,
        object=customer,
        after={"external_ref": external_ref},
    )
    return customer


PROFILE_FIELDS = ("first_name", "last_name", "email", "date_of_birth", "country")


@transaction.atomic
def customer_update(*, customer: Customer, changed: list[str], actor=None) -> Customer:
    """Save edits to the customer's own profile fields (the admin form has set them on `customer`)."""
    fields = [f for f in changed if f in PROFILE_FIELDS]
    if not fields:
        return customer
    before = Customer.objects.values(*fields).get(pk=customer.pk)
    customer.country = customer.country.upper()
    customer.save(update_fields=[*fields, "updated_at"])
    # Field names only: the values are personal data and the audit trail outlives erasure.
    audit_record(
        action="customer.updated",
        actor=actor,
        customer=customer,
        object=customer,
        after={"fields": sorted(f for f in fields if before[f] != getattr(customer, f))},
    )
    if "country" in fields:  # the review policy may hold approvals by country (kyc.reviews.policy)
        customer_refresh_kyc_status(customer=customer, actor=actor)
    return customer


# A staff decision in effect is the final word (Veriff seed, "Final decisions").
_REVIEW_STATUS = {
    "approve": Customer.KycStatus.VERIFIED,
    "decline": Customer.KycStatus.REJECTED,
    "request_resubmission": Customer.KycStatus.ACTION_REQUIRED,
}


def _derive_kyc_status(customer: Customer) -> str:
    """The customer's overall status: their latest session's effective final decision — the
    staff's when one is in effect (kyc.reviews), else the provider's; an approval that the review
    policy sends to a human, or that an earlier decline of the customer holds (their case is open,
    kyc.reviews.queue_state), is "in review" until a person decides."""
    from kyc.models import Review
    from kyc.reviews import policy, risk
    from kyc.reviews.queue_state import session_held_by_open_case

    # The hold-on-flags rule read with the latest session, in the same statement.
    latest = customer.sessions.annotate(held=risk.held_expression()).order_by("-created_at", "-id").first()
    if latest is None:
        return Customer.KycStatus.UNVERIFIED
    review = latest.reviews.filter(state=Review.State.EFFECTIVE).order_by("-effective_at", "-id").first()
    if review is not None:
        return _REVIEW_STATUS[review.outcome]
    # Held by an open case only if queued (customer_queue_refresh ran just before): an approval
    # that is not in the queue costs no further query on the decision path.
    if latest.status == st.APPROVED and (
        policy.requires_review(latest.status, customer.country)
        or (latest.queued_at is not None and session_held_by_open_case(latest))
    ):
        return Customer.KycStatus.IN_REVIEW
    if latest.status == st.APPROVED and latest.held:  # risk flags, screening hits
        return Customer.KycStatus.IN_REVIEW
    return {
        st.APPROVED: Customer.KycStatus.VERIFIED,
        st.DECLINED: Customer.KycStatus.REJECTED,
        st.REVIEW: Customer.KycStatus.IN_REVIEW,
        st.RESUBMISSION_REQUESTED: Customer.KycStatus.ACTION_REQUIRED,
        st.EXPIRED: Customer.KycStatus.ACTION_REQUIRED,
        st.ABANDONED: Customer.KycStatus.ACTION_REQUIRED,
    }.get(latest.status, Customer.KycStatus.IN_PROGRESS)


def customer_refresh_kyc_status(*, customer: Customer, actor=None, actor_label: str = "system") -> None:
    """Recompute the derived status, under the customer's row lock: two of the customer's sessions
    changing at once (each under its own session lock) would otherwise both derive from a stale
    view and the last writer could store the older answer. Lock order is session, then customer."""
    from kyc.reviews.queue_state import customer_queue_refresh

    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    # The review queue depends on the same facts (under the same lock).
    customer_queue_refresh(customer_id=customer.pk)
    new = _derive_kyc_status(customer)
    if new == customer.kyc_status:
        return
    before = customer.kyc_status
    customer.kyc_status = new
    customer.kyc_status_changed_at = timezone.now()
    customer.save(update_fields=["kyc_status", "kyc_status_changed_at", "updated_at"])
    audit_record(
        action="customer.kyc_status_changed",
        actor=actor,
        actor_label=actor_label,
        customer=customer,
        object=customer,
        before={"kyc_status": before},
        after={"kyc_status": new},
    )
    notifications.event_kyc_status_changed(customer=customer, before=before, after=new)


# --- sessions -------------------------------------------------------------------------------
def verification_start(
    *, customer: Customer, provider: str | None = None, actor=None, actor_label: str = ""
) -> VerificationSession:
    """Create a session and ask the provider for it in a task (after commit)."""
    from kyc import tasks  # tasks import services

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
        transaction.on_commit(lambda: tasks.session_create_at_provider.delay(session.pk))
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
    *, customer: Customer, provider: str | None = None, actor=None, actor_label: str = ""
) -> tuple[VerificationSession, bool]:
    """The session the customer should use now, and whether it is new: the one in progress (a
    disrupted session resumes, a resubmission continues on the same URL), else a new one when
    policy allows (raises VerificationRefused when it does not)."""
    from kyc import selectors

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
            customer=customer, provider=provider, actor=actor, actor_label=actor_label
        )
    return session, True


@transaction.atomic
def customer_lift_session_cap(*, customer_id: int, actor) -> Customer:
    """Staff let the customer start new sessions again today: the sessions so far stop counting
    toward the daily cap, and a provider's permanent refusal so far no longer blocks a retry."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    counted = start_limits.sessions_counted(customer)
    customer.session_cap_lifted_at = timezone.now()
    customer.save(update_fields=["session_cap_lifted_at", "updated_at"])
    audit_record(
        action="customer.session_cap_lifted",
        actor=actor,
        customer=customer,
        object=customer,
        before={"sessions_counted": counted},
        after={"sessions_counted": 0, "cap": start_limits.daily_cap()},
    )
    return customer


def _session_request(session: VerificationSession) -> SessionRequest:
    # [seamiface] the return and notification URLs, and the person the provider knows the
    # customer as (kyc/session_urls.py, kyc/accounts.py; imported here: both import this module).
    from kyc.accounts import provider_person_id_for
    from kyc.session_urls import session_notification, session_return_url

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
        provider_person_id=provider_person_id_for(customer_id=customer.pk, provider=session.provider),
    )


def session_create_at_provider(*, session_id: int) -> VerificationSession:
    """Ask the provider for a session. Safe to run twice: a session that has its provider id
    already is left alone. Raises ProviderError when the provider is unavailable (to retry)."""
    session = VerificationSession.objects.select_related("customer").get(pk=session_id)
    if session.provider_session_id or session.provider_error_permanent or session.parked_at:
        return session  # done, or waiting for a human (kyc/operations/work.py)
    VerificationSession.objects.filter(pk=session_id).update(
        provider_attempts=F("provider_attempts") + 1, provider_next_attempt_at=None
    )
    try:
        created = get_provider(session.provider).create_session(_session_request(session))
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
    # [seamiface] the provider's person for this customer (Solaris person, Signicat dossier), and
    # polling for a provider that must be polled. Imported here: both modules import this one.
    from kyc.accounts import provider_account_record
    from kyc.polling import session_poll_schedule

    provider_account_record(
        customer_id=session.customer_id,
        provider=session.provider,
        provider_person_id=created.provider_person_id,
    )
    session_poll_schedule(session_id=session.pk, provider=session.provider)
    # Webhooks may have arrived before this commit (the provider is fast, our transaction slow):
    # they wait in the inbound store and are applied now.
    from webhooks.services import inbound_events_release_waiting

    provider, provider_session_id = session.provider, session.provider_session_id
    transaction.on_commit(
        lambda: inbound_events_release_waiting(provider=provider, provider_session_id=provider_session_id)
    )
    return session


def session_retry_provider_create(*, session_id: int) -> None:
    """The end user or staff asked to try again after a provider outage."""
    from kyc import tasks

    updated = VerificationSession.objects.filter(
        pk=session_id, provider_session_id__isnull=True, provider_error_permanent=False
    ).update(provider_error="", parked_at=None, updated_at=timezone.now())
    if updated:
        tasks.session_create_at_provider.delay(session_id)


# --- provider updates -----------------------------------------------------------------------
def _attempt_for(
    session: VerificationSession,
    attempt_id: str,
    status: str | None,
    *,
    for_decision: bool = False,
    by_event: bool = False,
) -> Attempt | None:
    """The session's attempt with this provider id, made when first heard of. Only called under
    the session's row lock (session_apply_update, media_register), which serializes the look-up
    and the insert: no get_or_create, whose savepoint would cost two round trips per event."""
    if not attempt_id:
        return _attempt_deciding(session) if for_decision else None
    try:
        return Attempt.objects.get(session=session, provider_attempt_id=attempt_id)
    except Attempt.DoesNotExist:
        attempt = Attempt.objects.create(
            session=session, provider_attempt_id=attempt_id, status=status or st.STARTED
        )
        if by_event:
            _bind_decisions_without_attempt(session, attempt)
        return attempt


def _attempt_deciding(session: VerificationSession) -> Attempt | None:
    """The attempt a decision that names none is about (Veriff's decision webhooks often carry no
    attemptId: the seed's examples and public fixtures have none). A provider decides a
    submitted attempt, so the latest submitted one; else the latest without a decision; else the
    latest. Not simply the latest: a resubmission decision can arrive after the user has started
    the next attempt (Veriff holds 9103 webhooks a few minutes, providers/veriff/README.md)."""
    attempts = list(session.attempts.order_by("created_at", "id"))
    for wanted in ((st.SUBMITTED,), tuple(s for s, _ in st.CHOICES if s not in st.DECISIONS)):
        candidates = [a for a in attempts if a.status in wanted]
        if candidates:
            return candidates[-1]
    return attempts[-1] if attempts else None


def _bind_decisions_without_attempt(session: VerificationSession, attempt: Attempt) -> None:
    """A decision that named no attempt arrived before any attempt was known (webhooks are not
    ordered): the first attempt heard of afterwards is the one it decided."""
    if session.attempts.exclude(pk=attempt.pk).exists():
        return
    unbound = list(session.decisions.filter(attempt=None, status__in=st.DECISIONS))
    if not unbound:
        return
    session.decisions.filter(pk__in=[d.pk for d in unbound]).update(attempt=attempt)
    latest = max(unbound, key=lambda d: (d.decided_at is not None, d.decided_at or d.received_at, d.pk))
    attempt.status = latest.status
    attempt.save(update_fields=["status", "updated_at"])


def _is_stale(session: VerificationSession, attempt: Attempt | None, update: ProviderUpdate) -> bool:
    """Whether a late fact must not move the session (ordering by provider time, not arrival)."""
    if update.status is None or not st.can_transition(session.status, update.status):
        return True
    if attempt is not None:
        newer = session.attempts.filter(created_at__gt=attempt.created_at).exclude(pk=attempt.pk)
        if newer.exists():
            return True  # about an attempt the user has moved on from
        if update.decision is None and attempt.status in st.DECISIONS:
            return True  # a progress event arriving after its attempt's decision
    if update.decision and update.decision.decided_at and session.last_decision_time:
        return update.decision.decided_at < session.last_decision_time
    return False


def _attempt_should_move(attempt: Attempt, update: ProviderUpdate) -> bool:
    """An attempt records its own facts even when the session has moved on; but a progress event
    after the attempt's decision, or a decision older than one it has, does not move it."""
    if attempt.status == update.status:
        return False
    if update.decision is None:
        # Progress only goes forward: a 7001 arriving after its attempt's 7002 changes nothing.
        late_start = attempt.status == st.SUBMITTED and update.status == st.STARTED
        return attempt.status not in st.DECISIONS and not late_start
    decided_at = update.decision.decided_at
    return not (decided_at and attempt.decisions.filter(decided_at__gt=decided_at).exists())


# No savepoint inside a caller's transaction (the inbound event's, which commits its claim with
# this work): nothing catches a failure half-way and carries on, the whole transaction rolls
# back, so a savepoint would only cost two round trips per event (benchmarks/decision_latency.py).
@transaction.atomic(savepoint=False)
def session_apply_update(*, provider: str, update: ProviderUpdate) -> ApplyResult:
    """Apply one provider fact (event or decision) to its session, exactly once.

    The session row is locked for the whole application: two workers applying two facts of the
    same session (a duplicate delivery racing, a decision racing its 7002 event) are serialized,
    so the transition check and the write cannot interleave.
    """
    try:
        # The customer comes along (read, not locked: customer_refresh_kyc_status locks it later,
        # in the documented order session, then customer).
        session = (
            VerificationSession.objects.select_for_update(of=("self",))
            .select_related("customer")
            .get(provider=provider, provider_session_id=update.provider_session_id)
        )
    except VerificationSession.DoesNotExist:
        return ApplyResult.UNKNOWN_SESSION
    actor_label = PROVIDER_ACTOR.format(provider)

    if update.decision is not None and ProviderDecision.objects.filter(dedupe_key=update.dedupe_key).exists():
        return ApplyResult.DUPLICATE

    if update.screening is not None:  # PEP / sanctions hits on the session's person
        from kyc.screening import screening_record

        screening_record(session=session, screening=update.screening)
        return ApplyResult.RECORDED

    # An attempt first heard of through an intermediate decision (9151) has at least been submitted.
    first_status = update.status or (st.SUBMITTED if update.decision else None)
    attempt = _attempt_for(
        session,
        update.attempt_id,
        first_status,
        for_decision=update.decision is not None,
        by_event=update.decision is None,
    )
    stale = _is_stale(session, attempt, update)

    if attempt is not None and update.status and _attempt_should_move(attempt, update):
        attempt.status = update.status
        attempt.save(update_fields=["status", "updated_at"])

    decision = None
    if update.decision is not None:
        d = update.decision
        decision = ProviderDecision.objects.create(
            session=session,
            attempt=attempt,
            dedupe_key=update.dedupe_key,
            status=d.status,
            provider_status=d.provider_status,
            code=d.code,
            reason=d.reason,
            reason_code=d.reason_code,
            person=dict(d.person),
            document=dict(d.document),
            decided_at=d.decided_at,
            applied=False,
            raw=dict(update.raw),
        )
        if d.risk_flags:
            RiskFlag.objects.bulk_create(
                RiskFlag(decision=decision, session=session, kind=f.kind, code=f.code, detail=f.detail)
                for f in d.risk_flags
            )

    # What the facts received so far say, in the provider's order; when they cannot tell (two
    # attempts without a decision yet), the incremental rule on this one fact decides.
    target, latest = status_from_facts(session)
    if target is None:
        target, latest = (None, None) if stale else (update.status, decision)
    is_latest_decision = decision is not None and latest is not None and latest.pk == decision.pk
    moves = target is not None and (
        (target != session.status or is_latest_decision)
        and (st.can_transition(session.status, target) or st.can_correct(session.status, target))
    )
    applied = moves and is_latest_decision and target == decision.status

    if decision is not None:
        if applied:
            ProviderDecision.objects.filter(pk=decision.pk).update(applied=True)
        d = update.decision
        after = {"status": d.status, "code": d.code, "reason_code": d.reason_code, "applied": applied}
        if d.risk_flags:
            after["risk_flags"] = sorted({f.kind for f in d.risk_flags})
        audit_record(
            action="session.provider_decision",
            actor_label=actor_label,
            customer_id=session.customer_id,
            session=session,
            object=session,
            after=after,
        )
        if d.status in MEDIA_BEARING_STATUSES:
            _enqueue_media_sync(session.pk)
        if d.status in PERSON_SCREENED_STATUSES:
            _enqueue_person_screening(session)

    if not moves:
        return ApplyResult.RECORDED
    if update.decision is not None:
        from kyc.reviews.decisions import reviews_supersede_for_new_decision

        reviews_supersede_for_new_decision(session=session, actor_label=actor_label)
    _session_move(
        session,
        target,
        actor_label=actor_label,
        decision_time=latest.decided_at if latest is not None and target == latest.status else None,
    )
    return ApplyResult.APPLIED


# Decisions after which the provider holds photos and videos of the attempt(s).
MEDIA_BEARING_STATUSES = frozenset(
    {st.APPROVED, st.DECLINED, st.RESUBMISSION_REQUESTED, st.REVIEW, st.ABANDONED}
)

# Decisions after which the provider has a person record worth screening (the user showed a
# document): its PEP / sanctions matches are read once, in a task after the decision's.
PERSON_SCREENED_STATUSES = frozenset({st.APPROVED, st.DECLINED, st.RESUBMISSION_REQUESTED, st.REVIEW})

_TIMESTAMP_FIELD = {st.STARTED: "started_at", st.SUBMITTED: "submitted_at"}


def _session_move(
    session: VerificationSession, new: str, *, actor_label: str, decision_time=None, actor=None
) -> None:
    before = session.status
    now = timezone.now()
    session.status = new
    session.status_changed_at = now
    fields = ["status", "status_changed_at", "updated_at"]
    if new in _TIMESTAMP_FIELD:
        setattr(session, _TIMESTAMP_FIELD[new], now)
        fields.append(_TIMESTAMP_FIELD[new])
    if new in st.DECISIONS:
        session.decided_at = now
        fields.append("decided_at")
    if decision_time:
        session.last_decision_time = decision_time
        fields.append("last_decision_time")
    session.save(update_fields=fields)
    audit_record(
        action="session.status_changed",
        actor=actor,
        actor_label=actor_label,
        customer_id=session.customer_id,
        session=session,
        object=session,
        before={"status": before},
        after={"status": new},
    )
    customer_refresh_kyc_status(customer=session.customer, actor=actor, actor_label=actor_label)


def _enqueue_media_sync(session_id: int) -> None:
    from kyc import tasks

    transaction.on_commit(lambda: tasks.media_sync_soon(session_id))


def _enqueue_person_screening(session: VerificationSession) -> None:
    from kyc import tasks

    # The provider's ids travel with the task (ids, no personal data): the task asks the provider
    # before it touches the database.
    args = (session.pk, session.provider, session.provider_session_id)
    transaction.on_commit(lambda: tasks.session_screen_person.delay(*args))


# --- media ----------------------------------------------------------------------------------
def media_register(*, session_id: int, items: list[MediaItem]) -> list[int]:
    """Record the provider's media listing; returns the ids of the rows still to download."""
    return [media.pk for media in media_register_pending(session_id=session_id, items=items)]


@transaction.atomic
def media_register_pending(*, session_id: int, items: list[MediaItem]) -> list[Media]:
    """Record the provider's media listing; returns the rows still to download, with their session
    and attempt (kyc.tasks downloads them at once, without reading them again)."""
    session = VerificationSession.objects.select_for_update().get(pk=session_id)
    attempts = {a.provider_attempt_id: a for a in session.attempts.all()}
    listed, new = set(), []
    for item in items:
        if item.provider_media_id in listed:
            continue
        listed.add(item.provider_media_id)
        attempt = attempts.get(item.attempt_id)
        if item.attempt_id and attempt is None:
            attempt = attempts[item.attempt_id] = _attempt_for(session, item.attempt_id, None)
        new.append(
            Media(
                session=session,
                provider_media_id=item.provider_media_id,
                attempt=attempt,
                context=item.context[:50],
                kind=item.kind,
                name=item.name[:200],
                mime_type=item.mime_type[:100],
            )
        )
    # One INSERT for the listing; the files we have already are left as they are (the unique
    # session + provider id; ignore_conflicts), so a listing read again adds only what is new.
    # The session's row lock keeps two listings of it from racing.
    Media.objects.bulk_create(new, ignore_conflicts=True)
    session.media_listed_at = timezone.now()
    session.save(update_fields=["media_listed_at"])
    # Parked and purged files are left alone: a human decides on the first, retention on the second.
    pending = session.media.filter(state=Media.State.PENDING, parked_at=None, purged_at=None)
    pending = list(pending.select_related("attempt"))
    for media in pending:
        media.session = session
    return pending
