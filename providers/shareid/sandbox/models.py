"""ShareID's side of the world: applicants (onboardings), authenticate flows, the single-use SDK
tokens that start them, fetch tokens, the captured images, the callbacks it sends and the faults it
plays (../README.md, "Sandbox").

Everything lives in the database, not in a process's memory, so that every server process of the
sandbox (and a control call from a test) sees the same state.
"""

import secrets
import uuid

from django.db import models
from django.utils import timezone


def applicant_id() -> str:
    """ShareID's shape, `ap-<UTC YYYYMMDDhhmmssSSS>-<environment>-<10 hex>`, the environment being
    `sim0` here (ShareID's example: ap-20231029101303909-dev0-24fa8d9e36)."""
    now = timezone.now()
    return f"ap-{now:%Y%m%d%H%M%S}{now.microsecond // 1000:03d}-sim0-{secrets.token_hex(5)}"


def opaque_token() -> str:
    return secrets.token_urlsafe(32)


class Applicant(models.Model):
    """One onboarding (POST /flow/onboarding/auth/business), and its result once a person (the SDK
    page) or a script (control/…/complete) has finished it."""

    id = models.CharField(primary_key=True, max_length=64, default=applicant_id, editable=False)
    # Echoed in the callback only, as given (the app sends {"reference": …}).
    customer_data = models.JSONField(default=dict)
    methods = models.JSONField(default=list)
    # The callback URL exactly as given, query string included; "" when none was given.
    callback = models.CharField(max_length=2000, blank=True)
    callback_with_document_capture = models.BooleanField(default=False)
    advanced_verification = models.BooleanField(default=False)
    session_duration = models.PositiveIntegerField(default=600)
    created_at = models.DateTimeField(default=timezone.now)
    # The end user left the SDK page without finishing: the fetch keeps answering "not ready".
    left_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The fetch answers "not ready" until then (completion + the analysis delay).
    ready_at = models.DateTimeField(null=True, blank=True)
    reasons = models.JSONField(null=True, blank=True)
    # {"type": {...}, "ocr": {...}} of the result, images apart (Capture).
    document = models.JSONField(default=dict, blank=True)
    # The last fetch answered (not refused with 429): the 5-second rule counts from it.
    last_fetch_at = models.DateTimeField(null=True, blank=True)
    fetch_count = models.PositiveIntegerField(default=0)
    rate_limited_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.id


class Flow(models.Model):
    """One authenticate run of a known applicant (POST /flow/authenticate/auth/business)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    applicant = models.ForeignKey(Applicant, on_delete=models.CASCADE, related_name="flows")
    callback = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    reasons = models.JSONField(null=True, blank=True)
    last_fetch_at = models.DateTimeField(null=True, blank=True)
    fetch_count = models.PositiveIntegerField(default=0)
    rate_limited_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return str(self.id)


class SdkToken(models.Model):
    """The single-use token that opens the SDK page for one onboarding (or one authenticate flow).
    The page's first GET spends it; the page then finishes with `page_key`, a secret it alone got."""

    token = models.CharField(max_length=64, unique=True, default=opaque_token, editable=False)
    applicant = models.ForeignKey(Applicant, on_delete=models.CASCADE, related_name="sdk_tokens")
    flow = models.OneToOneField(
        Flow, on_delete=models.CASCADE, null=True, blank=True, related_name="sdk_token"
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    page_key = models.CharField(max_length=64, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.token[:6]}… for {self.flow_id or self.applicant_id}"


class FetchToken(models.Model):
    """A token of …/fetch/auth/business, for the fetches of its kind (onboarding or authenticate)."""

    class Kind(models.TextChoices):
        ONBOARDING = "onboarding"
        AUTHENTICATE = "authenticate"

    token = models.CharField(max_length=64, unique=True, default=opaque_token, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind} {self.token[:6]}… until {self.expires_at:%H:%M:%S}"


class Capture(models.Model):
    """One image of an onboarding's result (doc_front, doc_back, face_face, face_doc). Generated
    fakes, small, so the bytes live in the row and the sandbox needs no storage set up."""

    class Kind(models.TextChoices):
        DOC_FRONT = "doc_front"
        DOC_BACK = "doc_back"
        FACE_FACE = "face_face"
        FACE_DOC = "face_doc"

    applicant = models.ForeignKey(Applicant, on_delete=models.CASCADE, related_name="captures")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    content_type = models.CharField(max_length=32)
    content = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["applicant", "kind"], name="shareid_sandbox_one_capture")
        ]

    def __str__(self) -> str:
        return f"{self.applicant_id} {self.kind}"


class Callback(models.Model):
    """The callback of one result, and the state of its delivery (every attempt: CallbackAttempt)."""

    class State(models.TextChoices):
        PENDING = "pending", "waiting for its next attempt"
        DELIVERED = "delivered", "answered 200 within 3000 ms"
        SENT = "sent", "sent with its answer ignored (fault injection)"
        FAILED = "failed", "no 200 after the last retry"

    applicant = models.ForeignKey(Applicant, on_delete=models.CASCADE, related_name="callbacks")
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, null=True, blank=True, related_name="callbacks")
    url = models.CharField(max_length=2000)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # A short lease while one worker sends, so that two workers never POST the same attempt.
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} → {self.url} ({self.state})"


class CallbackAttempt(models.Model):
    """One POST of a callback: the receiver's answer, how long it took, what went wrong."""

    callback = models.ForeignKey(Callback, on_delete=models.CASCADE, related_name="attempt_log")
    attempt = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=500, blank=True)
    # When the next attempt is due after this one; None when there is none (delivered, given up).
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.callback_id} attempt {self.attempt} → {self.status_code}"


class Counter(models.Model):
    """A running total of control/stats that no applicant row holds (fetch tokens issued, 401s,
    fetches of unknown applicants). One row per name, incremented with F()."""

    name = models.CharField(primary_key=True, max_length=32)
    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class Fault(models.Model):
    """The next `remaining` API calls of `kind` answer `status`, or hang `hang_seconds` (then 504,
    the call's work not done). Queued in order of creation (control/faults)."""

    class Kind(models.TextChoices):
        START = "start", "onboarding start"
        FETCH_TOKEN = "fetch_token", "fetch token"
        FETCH = "fetch", "fetch of a result"
        AUTHENTICATE = "authenticate", "authenticate start"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    hang_seconds = models.FloatField(default=0)
    remaining = models.PositiveIntegerField()
    hits = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        what = f"hang {self.hang_seconds}s" if self.hang_seconds else f"{self.status}"
        return f"{self.kind}: {what} × {self.remaining}"


class Switch(models.Model):
    """A behaviour turned on through control/faults until turned off: a row exists while it is on."""

    class Name(models.TextChoices):
        IMAGES_ONLY_IN_CALLBACK = "images_only_in_callback", "the fetch gives null images"
        CALLBACK_ANSWER_IGNORED = "callback_answer_ignored", "callbacks sent once, never retried"

    name = models.CharField(primary_key=True, max_length=32, choices=Name.choices)

    def __str__(self) -> str:
        return self.name
