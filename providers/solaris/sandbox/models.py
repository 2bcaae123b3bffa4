"""Solaris's side of the world: tokens, persons, identifications, documents, webhook
subscriptions and the notifications it sends.

Statuses are Solaris's own words (../README.md, "Identification statuses"); the sandbox is a
separate system and deliberately does not import KYC Desk's normalized statuses.
"""

import secrets
import uuid

from django.db import models
from django.utils import timezone


def solaris_id(suffix: str = "") -> str:
    """Solaris's id shape: 32 lowercase hex characters and a type suffix (`…cper`, `…cidt`)."""
    return secrets.token_hex(16) + suffix


def person_id() -> str:
    return solaris_id("cper")


def identification_id() -> str:
    return solaris_id("cidt")


def document_id() -> str:
    return solaris_id("cdoc")


def subscription_id() -> str:
    # Webhook subscription ids carry no suffix (the docs' example: 4c6f93d4c8d427927257e2ce734a5a10).
    return solaris_id()


def webhook_secret() -> str:
    return secrets.token_hex(16)


class Status(models.TextChoices):
    """The whole enum of the identification status (IDENTIFICATION webhook and GET schemas). The
    sandbox walks the IDnow subset; the others exist so that a client can be tested against them."""

    CREATED = "created"
    PENDING = "pending"
    PENDING_SUCCESSFUL = "pending_successful"
    PENDING_FAILED = "pending_failed"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    EXPIRED = "expired"
    ABORTED = "aborted"
    CANCELED = "canceled"
    AUTHORIZATION_REQUIRED = "authorization_required"
    CONFIRMATION_REQUIRED = "confirmation_required"
    CONFIRMED = "confirmed"
    IDENTIFICATION_DATA_REQUIRED = "identification_data_required"
    PROCESSED = "processed"
    REJECTED = "rejected"
    SIGNED = "signed"
    PRE_SUCCESSFUL = "pre_successful"
    PENDING_ACCOUNT_CREATION = "pending_account_creation"
    PENDING_REF_TRANSFER = "pending_ref_transfer"


# The IDnow walk: which status may follow which. `pending_*` are IDnow's verdict waiting for
# Solaris's own review, so either may still end the other way or be canceled.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.CREATED: frozenset({Status.PENDING, Status.CANCELED}),
    Status.PENDING: frozenset(
        {Status.PENDING_SUCCESSFUL, Status.PENDING_FAILED, Status.ABORTED, Status.EXPIRED, Status.CANCELED}
    ),
    Status.PENDING_SUCCESSFUL: frozenset({Status.SUCCESSFUL, Status.FAILED, Status.CANCELED}),
    Status.PENDING_FAILED: frozenset({Status.FAILED, Status.SUCCESSFUL, Status.CANCELED}),
}
FINAL_STATUSES = frozenset(
    {Status.SUCCESSFUL, Status.FAILED, Status.EXPIRED, Status.ABORTED, Status.CANCELED}
)

METHODS = (
    "bank",
    "bank_id",
    "bank_plus",
    "fourthline",
    "idnow",
    "idnow_autoident",
    "idnow_custom",
    "manual",
    "postident",
)


class Screening(models.TextChoices):
    NOT_SCREENED = "NOT_SCREENED"
    POTENTIAL_MATCH = "POTENTIAL_MATCH"
    SCREENED_ACCEPTED = "SCREENED_ACCEPTED"
    SCREENED_DECLINED = "SCREENED_DECLINED"


class AccessToken(models.Model):
    """An OAuth2 access token issued by POST /oauth2/token. In the database, not in memory, so
    that every server process of the sandbox accepts it and a control call can expire them all."""

    token = models.CharField(max_length=64, unique=True)
    client_id = models.CharField(max_length=200)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.token[:6]}… until {self.expires_at:%H:%M:%S}"


class TokenRequest(models.Model):
    """One call of the token endpoint, answered or refused: tests count them (N processes that
    share one token ask once)."""

    created_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField()

    def __str__(self) -> str:
        return f"{self.created_at:%H:%M:%S} → {self.status_code}"


class Person(models.Model):
    """A person created by POST /v1/persons. PERSON_DELETED erases `data` and marks it deleted:
    the API then answers 404 for it, as Solaris does once it has deleted a person."""

    id = models.CharField(primary_key=True, max_length=40, default=person_id, editable=False)
    # The fields the partner sent (first_name, last_name, birth_date, address, reference, …) as given.
    data = models.JSONField(default=dict)
    screening_progress = models.CharField(
        max_length=32, choices=Screening.choices, default=Screening.NOT_SCREENED
    )
    risk_classification_status = models.CharField(max_length=32, default="NOT_SCORED")
    customer_vetting_status = models.CharField(max_length=32, default="NOT_VETTED")
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.id


class Identification(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=identification_id, editable=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="identifications")
    method = models.CharField(max_length=32, default="idnow")
    language = models.CharField(max_length=2, default="DE")
    reference = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 (null is Solaris's "none")
    url = models.CharField(max_length=2000, null=True, blank=True)  # noqa: DJ001 (null until requested)
    status = models.CharField(max_length=40, choices=Status.choices, default=Status.CREATED)
    failure_reason = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    # The Seon fingerprints the partner passed (device monitoring), kept so that tests can see them.
    device_data = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When the link was issued (PATCH …/request): an unused link expires from here.
    requested_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class Document(models.Model):
    """A file of an identification (ID photos, selfie, the IDnow report). Generated fakes, small,
    so the bytes live in the row and the sandbox needs no storage set up."""

    id = models.CharField(primary_key=True, max_length=40, default=document_id, editable=False)
    identification = models.ForeignKey(Identification, on_delete=models.CASCADE, related_name="documents")
    document_type = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=64)
    content = models.BinaryField()
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "name"]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    """A webhook subscription (POST /v1/webhooks): one event type to one URL, with its secret.
    Cancelled, not deleted, when the receiver answers 410 or the partner deletes it, so the
    delivery log still says where a notification went."""

    id = models.CharField(primary_key=True, max_length=40, default=subscription_id, editable=False)
    event_type = models.CharField(max_length=64)
    url = models.CharField(max_length=2000)
    # Shown to the partner once, in the answer to POST /v1/webhooks (docs example: 32 hex chars).
    secret = models.CharField(max_length=64, default=webhook_secret, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_because = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            # "Webhook already exists": one live subscription per event type and URL.
            models.UniqueConstraint(
                fields=["event_type", "url"],
                condition=models.Q(cancelled_at=None),
                name="solaris_sandbox_one_live_subscription",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.url}"


class Delivery(models.Model):
    """One notification to one subscription, and every attempt to deliver it.

    The body is fixed when the row is created and signed once, so each retry sends the same bytes;
    only Solaris-Webhook-Attempt changes between attempts.
    """

    class State(models.TextChoices):
        PENDING = "pending", "waiting for its next attempt"
        DELIVERED = "delivered", "2xx"
        REJECTED = "rejected", "422: dropped, never re-sent"
        GONE = "gone", "410: dropped, subscription cancelled"
        CANCELLED = "cancelled", "its subscription was cancelled before it was delivered"
        EXPIRED = "expired", "no 2xx within the retries"
        DROPPED = "dropped", "lost on purpose (fault injection)"

    webhook_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="deliveries")
    event_type = models.CharField(max_length=64)
    # The person or identification the notification is about (Solaris-Entity-Id).
    entity_id = models.CharField(max_length=40)
    url = models.CharField(max_length=2000)
    body = models.BinaryField()
    signature = models.CharField(max_length=80)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Every attempt: {"attempt", "at", "status_code", "error"}; the control endpoint lists them.
    answers = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A short lease while one worker sends, so that two workers never POST the same attempt.
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event_type} #{self.pk} → {self.url} ({self.state})"


class Fault(models.Model):
    """A fault the sandbox plays, for outage tests (control/faults). One row at most, in the
    database so that every server process sees it."""

    class Mode(models.TextChoices):
        ERROR = "error", "answer 500"
        TIMEOUT = "timeout", "hang, then answer"
        SLOW_TOKEN = "slow_token", "the token endpoint hangs, then answers"
        DROP_WEBHOOKS = "drop_webhooks", "lose outgoing notifications"

    mode = models.CharField(max_length=16, choices=Mode.choices)
    seconds = models.FloatField(default=0)
    # Only requests whose path (or notification URL) contains this; empty: all.
    match = models.CharField(max_length=200, blank=True)
    until = models.DateTimeField(null=True, blank=True)
    hits = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.mode} {self.seconds}s"
