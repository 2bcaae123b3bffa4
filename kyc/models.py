"""The KYC domain. State changes happen only in `kyc.services`; these are plain records."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from kyc import status as st
from kyc.validators import validate_country, validate_date_of_birth


class Customer(models.Model):
    """The business's own person, known by its external reference."""

    class KycStatus(models.TextChoices):
        UNVERIFIED = "unverified", "Unverified"
        IN_PROGRESS = "in_progress", "In progress"
        ACTION_REQUIRED = "action_required", "Action required"  # resubmit, or start again
        IN_REVIEW = "in_review", "In review"
        VERIFIED = "verified", "Verified"
        REJECTED = "rejected", "Rejected"

    external_ref = models.CharField(max_length=100, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    # Checked here so that the admin's form refuses what a provider would (kyc/validators.py).
    date_of_birth = models.DateField(null=True, blank=True, validators=[validate_date_of_birth])
    country = models.CharField(
        max_length=2, blank=True, help_text="ISO 3166-1 alpha-2", validators=[validate_country]
    )
    kyc_status = models.CharField(max_length=20, choices=KycStatus.choices, default=KycStatus.UNVERIFIED)
    kyc_status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when the customer's personal data was erased on request (GDPR art. 17); the minimal
    # legal record stays (kyc/operations/erasure.py).
    erased_at = models.DateTimeField(null=True, blank=True)
    # Staff allowed more sessions (kyc/start_limits.py): sessions created before this time no
    # longer count toward the daily cap, nor does a provider's refusal before it stop a retry.
    session_cap_lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("erase_customer", "Can erase a customer's personal data (GDPR)")]
        # Lists are newest first (the admin adds -pk to make the order total); searches use the
        # trigram indexes of migration 0002 (PostgreSQL).
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="customer_newest_first"),
            models.Index(fields=["kyc_status", "-created_at"], name="customer_status_newest"),
        ]

    def __str__(self) -> str:
        if self.erased_at:
            return f"(erased) [{self.external_ref}]"
        return f"{self.full_name or '(no name)'} [{self.external_ref}]"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class VerificationSession(models.Model):
    """One session at one provider."""

    # Our own reference, sent to the provider (Veriff: vendorData) and used in end-user URLs:
    # never the customer's data, never guessable.
    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="sessions")
    provider = models.CharField(max_length=30)
    # NULL until the provider created the session: unique only among the known ones.
    provider_session_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    hosted_url = models.URLField(max_length=2000, blank=True)
    status = models.CharField(max_length=30, choices=st.CHOICES, default=st.CREATED)
    # Why the provider session could not be created yet (outage) or at all (permanent error).
    provider_error = models.TextField(blank=True)
    provider_error_permanent = models.BooleanField(default=False)
    # A keyed digest of the data the session request carried (kyc/start_limits.py): a permanent
    # refusal is answered again, without a new session, while a new start would send the same.
    start_fingerprint = models.CharField(max_length=64, blank=True)
    # Calls made to create it at the provider, and when the next one is due (backoff, visible).
    provider_attempts = models.PositiveIntegerField(default=0)
    provider_next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set when the automatic retries gave up: the work waits for a human (admin filter "parked").
    parked_at = models.DateTimeField(null=True, blank=True)
    # When reconciliation last asked the provider about this session (kyc/operations/reconcile.py).
    reconciled_at = models.DateTimeField(null=True, blank=True)
    # Polling (a provider with Provider.poll_interval; kyc/services/poll_schedule.py): when the
    # session is due to be fetched next (None: not polled), and when it was last fetched.
    poll_next_at = models.DateTimeField(null=True, blank=True)
    polled_at = models.DateTimeField(null=True, blank=True)
    # When the provider's media listing was last recorded (a decision after it calls for another).
    media_listed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    provider_created_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # The provider time of the decision that set the status: ordering is by provider time.
    last_decision_time = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The staff member working the case (kyc.services.assignment): one at a time, changed only by
    # the assignment services, every change audited.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_sessions",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    # In the review queue since (the provider's result, the SLA clock's start); NULL: not in it.
    # Stored, not computed per page, so that the queue is an index scan at any size; kept by
    # kyc.reviews.queue_state whenever the customer's status is derived or a review changes.
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        # The back-office roles (migration 0003 makes them groups) are built from these.
        permissions = [
            ("review_case", "Can work cases: assign to self, propose final decisions, contact the customer"),
            ("confirm_override", "Can confirm or reject another reviewer's override of the provider"),
            ("reassign_case", "Can assign cases to others and unassign anyone"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_session_id"],
                condition=Q(provider_session_id__isnull=False),
                name="unique_provider_session_id",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["-created_at", "-id"], name="session_newest_first"),
            # The queue's "latest session of its customer" and the case page's session list.
            models.Index(fields=["customer", "created_at"]),
            models.Index(
                fields=["queued_at", "id"], condition=Q(queued_at__isnull=False), name="session_review_queue"
            ),
            # The dashboard's time to decision and the queue's date-range filter.
            models.Index(fields=["decided_at"], name="session_decided_at"),
            # The poller's claim: due sessions, soonest first; only the polled ones are indexed.
            models.Index(
                fields=["poll_next_at"],
                name="session_poll_due",
                condition=models.Q(poll_next_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} session {self.provider_session_id or self.reference} ({self.status})"

    @property
    def is_conclusive(self) -> bool:
        return st.is_conclusive(self.status)


class Attempt(models.Model):
    """One try inside a session (a Veriff resubmission is a new attempt on the same URL)."""

    session = models.ForeignKey(VerificationSession, on_delete=models.CASCADE, related_name="attempts")
    provider_attempt_id = models.CharField(max_length=100)
    status = models.CharField(max_length=30, choices=st.CHOICES, default=st.STARTED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "provider_attempt_id"], name="unique_attempt_per_session"
            )
        ]

    def __str__(self) -> str:
        return f"attempt {self.provider_attempt_id} ({self.status})"


class ProviderDecision(models.Model):
    """What the provider decided, kept verbatim as evidence. Never edited."""

    session = models.ForeignKey(VerificationSession, on_delete=models.CASCADE, related_name="decisions")
    attempt = models.ForeignKey(
        Attempt, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    dedupe_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=30, choices=st.CHOICES)
    provider_status = models.CharField(max_length=50)
    code = models.IntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    reason_code = models.CharField(max_length=64, blank=True)  # the deciding reason
    # Every reason the provider gave (ShareID's list), the deciding one among them; a provider
    # with one code per decision has it alone here.
    reason_codes = models.JSONField(default=list, blank=True)
    person = models.JSONField(default=dict, blank=True)
    document = models.JSONField(default=dict, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    # Whether this decision moved the session's status (False: late, duplicate, superseded).
    applied = models.BooleanField(default=False)
    raw = models.JSONField(default=dict, blank=True)
    # Set when person, document and raw were blanked (retention period over, or erasure): the
    # decision itself (status, codes, times) is the minimal record that stays.
    redacted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-decided_at", "-received_at"]
        get_latest_by = "received_at"
        indexes = [models.Index(fields=["received_at"], name="decision_received_at")]  # decisions per day

    def __str__(self) -> str:
        return f"{self.status} ({self.code})"

    @property
    def reasons(self) -> list[str]:
        """Every reason of the decision, the deciding one among them: `reason_codes`, or the one
        `reason_code` of a decision recorded before the list was kept."""
        if self.reason_codes:
            return [str(code) for code in self.reason_codes]
        return [self.reason_code] if self.reason_code else []


class RiskFlag(models.Model):
    """A risk signal a provider decision carried (a fraud label, a PEP/sanctions match, the same face
    on another session): kept as rows, not only in the decision's raw payload, so that the review
    policy can hold an approval for it (kyc.reviews.risk, KYC_REVIEW_HOLD_ON_FLAGS)."""

    class Kind(models.TextChoices):
        RISK_LABEL = "risk_label", "Risk label"
        PEP_SANCTIONS = "pep_sanctions", "PEP / sanctions match"
        MATCHED_SESSION = "matched_session", "Matched another session"

    decision = models.ForeignKey(ProviderDecision, on_delete=models.CASCADE, related_name="risk_flags")
    session = models.ForeignKey(VerificationSession, on_delete=models.CASCADE, related_name="risk_flags")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    code = models.CharField(max_length=100)
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["session", "kind"], name="risk_flag_session_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.code}"


class ScreeningResult(models.Model):
    """One PEP / sanctions / adverse-media hit on a customer, from any source (Veriff's watchlist
    webhook and person record so far): the list, the matched name and why it matched. Staff
    resolve it as a false positive or a true match, with a reason (kyc.services.screening); a false
    positive on a sanctions hit takes effect only when a second person confirms it."""

    class State(models.TextChoices):
        POSSIBLE_MATCH = "possible_match", "Possible match"
        # A false positive on a sanctions hit, proposed by one person, waiting for a second.
        AWAITING_CONFIRMATION = "awaiting_confirmation", "False positive awaiting confirmation"
        FALSE_POSITIVE = "false_positive", "False positive"
        TRUE_MATCH = "true_match", "True match"

    class ListType(models.TextChoices):
        SANCTIONS = "sanctions", "Sanctions"
        PEP = "pep", "PEP"
        ADVERSE_MEDIA = "adverse_media", "Adverse media"
        WARNING = "warning", "Warning list"
        OTHER = "other", "Other list"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="screening_results")
    session = models.ForeignKey(
        VerificationSession,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="screening_results",
    )
    provider = models.CharField(max_length=30)
    source = models.CharField(max_length=50)  # e.g. veriff:watchlist, veriff:person
    check_type = models.CharField(max_length=40, blank=True)
    list_type = models.CharField(max_length=20, choices=ListType.choices)
    matched_name = models.CharField(max_length=300)
    date_of_birth = models.CharField(max_length=40, blank=True)
    countries = models.JSONField(default=list, blank=True)
    match_types = models.JSONField(default=list, blank=True)  # why it matched
    sources = models.JSONField(default=list, blank=True)  # [{list, name, url, date}]
    search_term = models.JSONField(default=dict, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=30, choices=State.choices, default=State.POSSIBLE_MATCH)
    received_at = models.DateTimeField(auto_now_add=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(null=True, blank=True)
    resolution_reason = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["customer", "state"], name="screening_customer_state")]

    def __str__(self) -> str:
        return f"{self.get_list_type_display()} hit {self.matched_name} ({self.get_state_display()})"

    @property
    def needs_four_eyes(self) -> bool:
        return self.list_type == self.ListType.SANCTIONS


class ProviderAccount(models.Model):
    """A customer at one provider, when the provider keeps a person rather than only sessions
    (a Solaris person, a Signicat dossier): the provider's id for them, so that facts about the
    person (PERSON_CHANGED, PERSON_DELETED) find our customer, and a new session reuses the
    person instead of making another (kyc/accounts.py)."""

    provider = models.CharField(max_length=30)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="provider_accounts")
    provider_person_id = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    # The last time the provider said the person changed, and the fact that said it (its
    # dedupe key: a second delivery of the same fact is not applied twice).
    changed_at = models.DateTimeField(null=True, blank=True)
    last_update_key = models.CharField(max_length=200, blank=True)
    # The provider deleted the person (Solaris PERSON_DELETED); our erasure followed.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "customer"], name="kyc_provideraccount_customer_unique"
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_person_id"], name="kyc_provideraccount_person_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_person_id}"


class Media(models.Model):
    """A file from the provider, streamed to private storage with its digest."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        STORED = "stored", "Stored"
        FAILED = "failed", "Failed"
        PURGED = "purged", "Purged"  # the file was deleted: retention period over, or erasure

    session = models.ForeignKey(VerificationSession, on_delete=models.CASCADE, related_name="media")
    attempt = models.ForeignKey(
        Attempt, null=True, blank=True, on_delete=models.SET_NULL, related_name="media"
    )
    provider_media_id = models.CharField(max_length=100)
    context = models.CharField(max_length=50, blank=True)
    kind = models.CharField(max_length=10, default="image")
    name = models.CharField(max_length=200, blank=True)
    # Never served from a public URL; see settings.MEDIA_ROOT.
    file = models.FileField(upload_to="evidence/", max_length=500, blank=True)
    mime_type = models.CharField(max_length=100, blank=True)
    # What the stored bytes prove the file to be, among the types staff are shown
    # (kyc/media_serving.py); blank when they prove none. Beside `mime_type`, which may be only the
    # provider's word. Serving checks the bytes again: this one is for the case page and the API.
    proven_type = models.CharField(max_length=100, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    download_attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    stored_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # When the next automatic try is due (backoff, visible); parked: the retries gave up.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    parked_at = models.DateTimeField(null=True, blank=True)
    # Set when the file was deleted (retention period over, or erasure); digest and size stay.
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "provider_media_id"], name="unique_media_per_session")
        ]
        verbose_name_plural = "media"

    def __str__(self) -> str:
        return f"{self.context or self.name} ({self.state})"

    @property
    def shown_type(self) -> str:
        """The type the case page shows the file as: the proven one; for a file stored before the
        bytes were checked, the recorded one (the content view decides by the bytes either way)."""
        return self.proven_type or self.mime_type


class Case(VerificationSession):
    """The review queue's view of a session (a proxy: same rows, its own admin page and menu entry)."""

    class Meta:
        proxy = True
        verbose_name = "case"
        verbose_name_plural = "review queue"
        # Exports carry personal data and evidence out of the back-office (kyc/casework/export.py):
        # a permission of its own, given to supervisors and auditors (migration 0010).
        permissions = [("export_case", "Can export the review queue (CSV) and case files (ZIP)")]


class AppendOnly(models.Model):
    """A record that is written once and never changed or deleted, for superusers too: an integrity
    rule of the record itself, so enforced here and not only in the services."""

    append_only_reason = "this record is append-only"

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError(self.append_only_reason)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(self.append_only_reason)


class CaseComment(AppendOnly):
    """A staff comment on a case, apart from the decision note: a thread, audited when written,
    never edited nor deleted (kyc/casework/comments.py)."""

    append_only_reason = "case comments are never edited or deleted"

    session = models.ForeignKey(VerificationSession, on_delete=models.PROTECT, related_name="comments")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="case_comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["customer", "created_at"], name="comment_customer_time")]

    def __str__(self) -> str:
        return f"comment {self.pk} on session {self.session_id}"


class ReviewOutcome(models.TextChoices):
    APPROVE = "approve", "Approve"
    DECLINE = "decline", "Decline"
    REQUEST_RESUBMISSION = "request_resubmission", "Request resubmission"


class ReviewReason(models.Model):
    """The list a staff decision's reason is chosen from. A table, not code, so that compliance can
    add reasons without a release; seeded by a data migration, never deleted (reviews point here)."""

    code = models.SlugField(max_length=50, unique=True)
    label = models.CharField(max_length=200)
    # The outcome this reason can justify; blank = any.
    outcome = models.CharField(max_length=30, blank=True, choices=ReviewOutcome.choices)
    active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "label"]

    def __str__(self) -> str:
        return self.label


class Review(models.Model):
    """A staff member's final decision on a session, on top of the provider's (Veriff seed, "Final
    decisions"). Kept forever: its content is never edited and it is never deleted; only its
    `state` moves forward (kyc.services.reviews)."""

    Outcome = ReviewOutcome

    class State(models.TextChoices):
        AWAITING_CONFIRMATION = "awaiting_confirmation", "Awaiting confirmation"
        EFFECTIVE = "effective", "Effective"
        REJECTED = "rejected", "Rejected by supervisor"
        # Taken back before a second person decided on it (its proposer, or a supervisor).
        WITHDRAWN = "withdrawn", "Withdrawn"
        # A later review, or a new provider decision on the session, took its place.
        SUPERSEDED = "superseded", "Superseded"

    session = models.ForeignKey(VerificationSession, on_delete=models.PROTECT, related_name="reviews")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="reviews")
    # The provider decision this review was made on (None: the provider had not decided).
    provider_decision = models.ForeignKey(
        ProviderDecision, null=True, blank=True, on_delete=models.PROTECT, related_name="reviews"
    )
    # The session's status when proposed: what the provider had said.
    provider_status = models.CharField(max_length=30, choices=st.CHOICES)
    outcome = models.CharField(max_length=30, choices=Outcome.choices)
    reason = models.ForeignKey(ReviewReason, on_delete=models.PROTECT, related_name="reviews")
    note = models.TextField()
    # Differs from the provider's decision: takes effect only when a supervisor confirms it.
    is_override = models.BooleanField(default=False)
    # Why an approval needed a second person besides an override (kyc.reviews.policy,
    # KYC_FOUR_EYES_APPROVALS), as judged when it was proposed.
    four_eyes = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=30, choices=State.choices)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField()
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # What the confirming supervisor checked (the back-office asks for it with the confirmation).
    confirmation_note = models.TextField(blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_note = models.TextField(blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    effective_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-proposed_at", "-id"]
        indexes = [models.Index(fields=["session", "state"]), models.Index(fields=["state", "effective_at"])]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} ({self.get_state_display()})"

    def delete(self, *args, **kwargs):
        raise PermissionError("staff decisions are kept: a review is never deleted")


class AuditEvent(AppendOnly):
    """Append-only record of every state change and staff action: who, what, when, before → after.

    Tamper-evident: `hash` is SHA-256 over the entry's content and `prev_hash`, the hash of the
    entry before it (kyc.audit), so changing, removing or reordering an entry breaks the chain
    (`python manage.py verify_audit`). Only ids and field names go in, never personal values:
    the chain must stay valid when personal data is erased elsewhere.
    """

    append_only_reason = "audit events are append-only"

    # Set by kyc.audit before hashing (not auto_now_add, which would change it after).
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Who acted when no user did: "system", "provider:veriff", "end-user".
    actor_label = models.CharField(max_length=100)
    action = models.CharField(max_length=100, db_index=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(
        VerificationSession, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=100, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("export_audit", "Can export the audit trail (CSV)")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"
