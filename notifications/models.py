"""Outbound notifications: the business's endpoints, the events we owe them, and every delivery."""

import uuid

from django.db import models

from kyc.models import Customer


class Endpoint(models.Model):
    """A URL of the business that receives our events, and the secret we sign them with."""

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    # Kept in clear because every delivery is signed with it (Standard Webhooks' whsec_ secrets); it
    # is shown when the endpoint is created or its secret rotated, and on its admin page, never in
    # lists, logs or the idempotency store.
    secret = models.CharField(max_length=100, editable=False)
    # After a rotation the old secret still signs (beside the new one) until it expires, so that
    # receivers can switch without losing a delivery.
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The API key that registered it: only that key sees or changes it (staff see all). Empty for
    # endpoints registered by staff.
    api_key = models.ForeignKey(
        "api.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_label = models.CharField(max_length=100, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "notification endpoint"

    def __str__(self) -> str:
        return self.url


class Event(models.Model):
    """One change of a customer's effective KYC status, as sent to every endpoint."""

    CUSTOMER_KYC_STATUS_CHANGED = "customer.kyc_status.changed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=50, default=CUSTOMER_KYC_STATUS_CHANGED)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    # 1, 2, 3… per customer: receivers can order events and notice a gap.
    sequence = models.PositiveIntegerField()
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["customer", "sequence"], name="unique_event_sequence")]

    def __str__(self) -> str:
        return f"{self.type} #{self.sequence} ({self.id})"


class Delivery(models.Model):
    """One event owed to one endpoint, retried until it succeeds or its retry window closes."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"  # waiting for its turn or its next try
        SENDING = "sending", "Sending"  # claimed by a worker
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed (gave up)"

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.PROTECT, related_name="deliveries")
    # Copied from the event: the per-customer order is checked on every send.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    sequence = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    window_started_at = models.DateTimeField(null=True, blank=True)  # retries stop a day after
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="unique_delivery")]
        indexes = [
            models.Index(fields=["endpoint", "customer", "sequence"]),
            models.Index(fields=["state", "next_attempt_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint} ({self.state})"


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery, kept for the admin (what the receiver answered)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # No longer written: an answer's body is never kept (a receiver's answer could be an internal
    # page read through us); emptied by migration 0002, the column stays for older rows' erasure.
    response_body = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.attempted_at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error[:40]}"
