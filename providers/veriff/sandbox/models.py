"""Veriff's side of the world: its sessions, attempts, media and outgoing webhooks.

The statuses are Veriff's own words (README, "Statuses and codes"). They happen to match KYC Desk's normalized
statuses, but the sandbox is a separate system and deliberately does not import them.
"""

import uuid

from django.db import models
from django.utils import timezone


class Status(models.TextChoices):
    CREATED = "created"
    STARTED = "started"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    DECLINED = "declined"
    RESUBMISSION_REQUESTED = "resubmission_requested"
    REVIEW = "review"
    EXPIRED = "expired"
    ABANDONED = "abandoned"


# A session in one of these still waits for the end user or for a decision; only these expire
# after 7 days (README, "Statuses and codes", 9104).
OPEN_STATUSES = frozenset({Status.CREATED, Status.STARTED, Status.SUBMITTED, Status.RESUBMISSION_REQUESTED})
# 9001, 9102 and 9104 close the session for good (the seed, "Lifecycle of the verification
# session"). `review` (9121) is not among them: a reviewer still decides after it.
CONCLUSIVE_STATUSES = frozenset({Status.APPROVED, Status.DECLINED, Status.EXPIRED, Status.ABANDONED})


class SandboxSession(models.Model):
    """One Veriff verification session, as created by POST /v1/sessions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The integration that created the session: another integration's key gets 1101 on it.
    api_key = models.CharField(max_length=64)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.CREATED)
    session_token = models.TextField()
    # What the integration sent, kept as given so that decisions can echo it back.
    callback = models.CharField(max_length=2000, blank=True)
    # NULL, not "": Veriff echoes an absent vendorData/endUserId as null, and "" as "".
    vendor_data = models.TextField(null=True, blank=True)  # noqa: DJ001
    end_user_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    person = models.JSONField(default=dict, blank=True)
    document = models.JSONField(default=dict, blank=True)
    additional_data = models.JSONField(default=dict, blank=True)
    lang = models.CharField(max_length=16, default="en")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    def current_attempt(self) -> "SandboxAttempt":
        """The latest attempt: the one the session URL works on. Every session has one."""
        return self.attempts.order_by("-number").first()

    def latest_decided_attempt(self) -> "SandboxAttempt | None":
        return self.attempts.exclude(decision=None).order_by("-number").first()


class SandboxAttempt(models.Model):
    """One try inside a session. A 9103 decision opens the next one on the same URL (README,
    "Statuses and codes")."""

    class Via(models.TextChoices):
        WEB = "web", "hosted page"
        API = "api", "API upload"
        CONTROL = "control", "control endpoint"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(SandboxSession, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.CREATED)
    via = models.CharField(max_length=16, choices=Via.choices, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # The decision webhook body as sent, so that GET /decision answers exactly the same thing.
    decision = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["session", "number"]
        constraints = [
            models.UniqueConstraint(fields=["session", "number"], name="veriff_sandbox_attempt_number")
        ]

    def __str__(self) -> str:
        return f"{self.id} (#{self.number}, {self.status})"


class SandboxMedia(models.Model):
    """A photo or video of one attempt. Bytes live in the database: they are small, generated
    fakes, and this keeps the sandbox free of any storage setup.

    A large video (control endpoint `…/media/large`, for load and streaming tests) cannot sit in a
    row: its bytes are generated on the fly from its size (media.synthetic_video_chunks), with the
    digest and signature worked out once when it is attached, and `content` stays empty.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    attempt = models.ForeignKey(SandboxAttempt, on_delete=models.CASCADE, related_name="media")
    context = models.CharField(max_length=32)  # face, document-front, document-back, video, …
    mimetype = models.CharField(max_length=64)
    content = models.BinaryField()
    size = models.PositiveBigIntegerField()
    # Set for a generated large video: `size` bytes made on the fly, never stored.
    synthetic = models.BooleanField(default=False)
    synthetic_sha256 = models.CharField(max_length=64, blank=True)
    # Veriff signs the media bytes; for a generated video that signature is computed when it is
    # attached (with the integration's credentials then) instead of over bytes held in memory.
    synthetic_signature_headers = models.JSONField(default=dict, blank=True)
    duration = models.PositiveSmallIntegerField(null=True, blank=True)  # seconds, videos only
    # Veriff timestamps every file (Guardtime, the seed's /timestamps); we only mint the id.
    timestamp_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "context"]

    def __str__(self) -> str:
        return f"{self.context} {self.id}"

    @property
    def is_video(self) -> bool:
        return self.mimetype.startswith("video/")


class WebhookDelivery(models.Model):
    """One webhook Veriff sends to the app: the delivery log (README, "The sandbox").

    The body and headers are fixed when the row is created, so a redelivery sends exactly the
    same signed bytes.
    """

    class Kind(models.TextChoices):
        EVENT = "event"
        DECISION = "decision"
        WATCHLIST = "watchlist"  # PEP / sanctions / adverse-media screening (control/…/watchlist)

    session = models.ForeignKey(SandboxSession, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    url = models.CharField(max_length=2000)
    body = models.BinaryField()
    headers = models.JSONField(default=dict)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    gave_up_at = models.DateTimeField(null=True, blank=True)
    # A short lease taken while one worker sends, so that two workers never POST the same
    # delivery at once; it lapses by itself if that worker dies mid-request.
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} → {self.url}"


class SandboxFault(models.Model):
    """A fault the sandbox plays on its provider API, for outage tests (control/faults).

    Kept in the database, not in a process's memory, so that every server process of the sandbox
    sees it. One row at most: the fault in force.
    """

    class Mode(models.TextChoices):
        ERROR = "error", "answer 500"
        TIMEOUT = "timeout", "hang, then answer"
        SLOW = "slow", "stream media slowly"
        DROP_WEBHOOKS = "drop_webhooks", "lose outgoing webhooks"

    mode = models.CharField(max_length=16, choices=Mode.choices)
    # TIMEOUT: how long each request hangs; SLOW: the pause between media chunks; else unused.
    seconds = models.FloatField(default=0)
    # Only requests whose path contains this (e.g. "/media/"); empty: every API request.
    match = models.CharField(max_length=200, blank=True)
    # The outage ends by itself at this time (None: until cleared).
    until = models.DateTimeField(null=True, blank=True)
    # Requests the fault has hit so far, so a test can see the outage was noticed.
    hits = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.mode} {self.seconds}s"
