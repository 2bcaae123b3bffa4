"""The inbound event store: every delivery kept verbatim before it is trusted or processed."""

from django.db import models


class InboundEvent(models.Model):
    class State(models.TextChoices):
        RECEIVED = "received", "Received"  # authenticated and stored, processing queued
        PROCESSING = "processing", "Processing"  # claimed by a worker
        PROCESSED = "processed", "Processed"
        WAITING = "waiting", "Waiting for session"  # about a session we have not stored yet
        FAILED = "failed", "Failed"  # processing raised; replayable
        MALFORMED = "malformed", "Malformed"  # authentic but unreadable (400); kept, replayable
        REJECTED = "rejected", "Rejected"  # not authentic (401/422); never processed

    provider = models.CharField(max_length=30)
    kind = models.CharField(max_length=30)
    body = models.BinaryField()
    # A rejected delivery keeps only a prefix of its body (webhooks/limits.py): these say what the
    # whole was. Empty for the others, whose body is kept whole.
    body_size = models.PositiveBigIntegerField(null=True, blank=True)
    body_sha256 = models.CharField(max_length=64, blank=True, default="", db_default="")
    headers = models.JSONField(default=dict)
    # The query-string parameters its provider needs to process it (Provider.kept_webhook_query);
    # never the notification token, which authenticated it.
    query = models.JSONField(default=dict, blank=True)
    # The reference of the session whose notification token authenticated the delivery
    # (webhooks/tokens.py; not a secret): for a provider that signs nothing (ShareID), the one
    # authentic thing about it, by which processing finds its session. "" for the others.
    session_reference = models.CharField(max_length=64, blank=True, default="", db_default="")
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    authenticated = models.BooleanField(default=False)
    auth_error = models.CharField(max_length=200, blank=True)
    # Unique for authentic deliveries only: a forged copy of a real body must not take its key.
    # (Unique through Meta.constraints: `unique=True` would also make PostgreSQL keep a second,
    # LIKE-pattern index, which nothing uses and every delivery's insert would pay for.)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 (NULL: not authentic, many)
    duplicates = models.PositiveIntegerField(default=0, help_text="Later deliveries of the same event")
    provider_session_id = models.CharField(max_length=100, blank=True)  # indexed in Meta.indexes
    state = models.CharField(max_length=12, choices=State.choices, default=State.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Set when the body (personal data) was blanked by retention or erasure; the rest stays.
    redacted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["state", "received_at"]),
            # Equality look-ups only (a session's deliveries); a plain index, without the
            # LIKE-pattern twin that `db_index=True` adds on PostgreSQL (benchmarks/ingest_cpu.py).
            models.Index(fields=["provider_session_id"], name="webhooks_inbound_psid_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], name="webhooks_inboundevent_dedupe_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.provider}/{self.kind} #{self.pk} ({self.state})"
