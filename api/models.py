"""API clients and the idempotency store."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class ApiKey(models.Model):
    """A server-to-server client's key. Only its SHA-256 is stored: the key itself is shown once,
    when it is created, and cannot be recovered (a lost key is revoked and replaced)."""

    class Scope(models.TextChoices):
        READ = "read", "read: customers, verifications, statuses, events"
        WRITE = "write", "write: create customers, start verifications, manage notification endpoints"
        STAFF = "staff", "staff: review queue, cases, media"

    name = models.CharField(max_length=100, help_text="Who uses this key, e.g. 'web backend (prod)'.")
    # The first characters of the key, kept in clear so a key can be recognised in lists and logs.
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def actor_label(self) -> str:
        """How the key appears in the audit trail (a key is not a person)."""
        return f"api-key:{self.prefix}"


class IdempotencyRecord(models.Model):
    """One Idempotency-Key of one client: the request it was first used with and its response.

    The unique constraint is what stops two concurrent requests with the same key from both
    creating: only one INSERT of (client, key) can succeed.
    """

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    client = models.CharField(max_length=50)  # "key:<id>" or "user:<id>": keys are per client
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of method, path and body
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    state = models.CharField(max_length=20, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    response_location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="unique_idempotency_key")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
