"""Verifications (our VerificationSession): start one for a customer, read, list, signed links."""

import datetime as dt

import django_filters
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.filters import IsoDateTimeFilter
from api.idempotency import idempotent
from api.pagination import IdFilter
from api.permissions import ReadScope, WriteScope, actor_of
from api.schema import IDEMPOTENCY_PARAMETER
from api.views.customers import customer_or_404
from kyc import selectors
from kyc import status as st
from kyc.flow.reasons import latest_resubmission_reason
from kyc.links import start_url
from kyc.models import VerificationSession
from kyc.services import sessions as kyc_sessions
from providers.registry import provider_names

TAG = ["Verifications"]

REFUSALS = {
    selectors.ALREADY_VERIFIED: "The customer is already verified.",
    selectors.IN_REVIEW: "The customer's verification is being reviewed by staff.",
    selectors.DECLINED: "The customer's verification was declined and policy does not allow a new one.",
}


class AttemptOutput(serializers.Serializer):
    id = serializers.CharField(source="provider_attempt_id", help_text="The provider's attempt id.")
    status = serializers.ChoiceField(choices=st.CHOICES)
    created_at = serializers.DateTimeField()


class VerificationOutput(serializers.Serializer):
    id = serializers.UUIDField(source="reference", help_text="Our id of the verification.")
    customer_id = serializers.IntegerField()
    provider = serializers.CharField()
    provider_session_id = serializers.CharField(
        allow_null=True, help_text="The provider's id of the session (for support); null until created."
    )
    status = serializers.ChoiceField(
        choices=st.CHOICES,
        help_text="created → started → submitted → approved | declined | resubmission_requested | "
        "review | expired | abandoned (resubmission_requested → started for a new attempt).",
    )
    hosted_url = serializers.URLField(
        allow_null=True, help_text="The provider's page for the end user; null until the provider made it."
    )
    flow_url = serializers.URLField(
        help_text="Our page that sends the end user to the provider (it waits while hosted_url is null)."
    )
    provider_unavailable = serializers.BooleanField(
        help_text="The provider could not be reached yet; we keep retrying."
    )
    resubmission = inline_serializer(
        "Resubmission",
        {
            "reason_code": serializers.CharField(),
            "message": serializers.CharField(help_text="Plain words for the end user."),
        },
        allow_null=True,
        help_text="Why the end user must try again (only while status is resubmission_requested).",
    )
    attempts = AttemptOutput(many=True)
    created_at = serializers.DateTimeField()
    status_changed_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)


def verification_data(session: VerificationSession) -> dict:
    reason = latest_resubmission_reason(session)
    return {
        "reference": session.reference,
        "customer_id": session.customer_id,
        "provider": session.provider,
        "provider_session_id": session.provider_session_id or None,
        "status": session.status,
        "hosted_url": session.hosted_url or None,
        "flow_url": settings.KYC_PUBLIC_URL + reverse("flow:session", args=[session.reference]),
        "provider_unavailable": bool(session.provider_error),
        "resubmission": {"reason_code": reason[0], "message": reason[1]} if reason else None,
        "attempts": list(session.attempts.all()),
        "created_at": session.created_at,
        "status_changed_at": session.status_changed_at,
        "started_at": session.started_at,
        "submitted_at": session.submitted_at,
        "decided_at": session.decided_at,
    }


class VerificationListOutput(VerificationOutput):
    """A verification in a list (same fields)."""

    def to_representation(self, instance):
        return super().to_representation(verification_data(instance))


VERIFICATION_EXAMPLE = {
    "id": "3f1c2a9e-5b7d-4e0f-9a61-2c8d7b4e1f00",
    "customer_id": 42,
    "provider": "veriff",
    "provider_session_id": "9b9a4c4e-0b1d-4a4f-8d3c-2f6a1e0c5b7a",
    "status": "created",
    "hosted_url": "https://magic.veriff.me/v/eyJhbGciOi…",
    "flow_url": "https://kyc.example.com/verify/s/3f1c2a9e-5b7d-4e0f-9a61-2c8d7b4e1f00/",
    "provider_unavailable": False,
    "resubmission": None,
    "attempts": [],
    "created_at": "2025-01-01T12:00:00Z",
    "status_changed_at": "2025-01-01T12:00:00Z",
    "started_at": None,
    "submitted_at": None,
    "decided_at": None,
}


class VerificationFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id", help_text="Customer id.")
    external_ref = django_filters.CharFilter(
        field_name="customer__external_ref", help_text="Customer's reference."
    )
    status = django_filters.MultipleChoiceFilter(  # a column of the row: no DISTINCT (see staff.py)
        choices=st.CHOICES, distinct=False, help_text="One or more (repeat the parameter)."
    )
    provider = django_filters.ChoiceFilter(choices=[(p, p) for p in settings.KYC_PROVIDERS])
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = VerificationSession
        fields = ["customer", "external_ref", "status", "provider", "created_after", "created_before"]


class _VerificationList(generics.ListAPIView):
    serializer_class = VerificationListOutput
    filterset_class = VerificationFilter
    ordering_fields = ["created_at"]
    permission_classes = [ReadScope]

    def get_queryset(self):
        return VerificationSession.objects.prefetch_related("attempts", "decisions")


@extend_schema(tags=TAG)
class VerificationListApi(_VerificationList):
    queryset = VerificationSession.objects.all()

    @extend_schema(operation_id="verifications_list", summary="List verifications")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class RestartNotAllowed(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "restart_not_allowed"


class InvalidCustomerData(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_customer_data"


class ProviderRefused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "provider_refused"


class SessionLimitReached(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "session_limit_reached"

    def __init__(self, detail: str, wait: int):
        super().__init__(detail)
        self.wait = wait  # DRF's handler turns it into Retry-After


def _start_error(exc: Exception) -> exceptions.APIException:
    """The API's answer to a start that kyc.services would not make, in words a developer acts on."""
    if isinstance(exc, kyc_sessions.VerificationRefused):
        return RestartNotAllowed(REFUSALS.get(exc.reason, exc.reason))
    if isinstance(exc, kyc_sessions.VerificationInputInvalid):
        return InvalidCustomerData(
            {
                field: [f"The customer's {field.replace('_', ' ')} cannot be sent to a provider: {problem}"]
                for field, problem in exc.problems.items()
            }
        )
    if isinstance(exc, kyc_sessions.VerificationProviderRefused):
        return ProviderRefused(
            f"The provider refused verification {exc.session.reference} for this customer's data "
            f"({exc.session.provider_error}). A new verification is not started until the customer's "
            "data changes."
        )
    assert isinstance(exc, kyc_sessions.VerificationLimitReached)
    wait = max(1, int((exc.retry_at - timezone.now()).total_seconds()) + 1)
    return SessionLimitReached(
        f"This customer started {exc.limit} verification sessions in 24 hours, the most allowed "
        f"(KYC_MAX_SESSIONS_PER_CUSTOMER_PER_DAY). Retry after {exc.retry_at.isoformat(timespec='seconds')}, "
        "or ask staff to allow more sessions today.",
        wait,
    )


@extend_schema(tags=TAG)
class CustomerVerificationsApi(_VerificationList):
    """GET lists the customer's verifications; POST starts (or resumes) one."""

    @extend_schema_serializer(component_name="VerificationStart")
    class InputSerializer(serializers.Serializer):
        # The schema lists the providers enabled when it is made; each request checks against
        # those enabled then (KYC_PROVIDERS may differ between deployments and in tests).
        provider = serializers.ChoiceField(
            choices=list(settings.KYC_PROVIDERS),
            required=False,
            help_text="The provider to verify with, one of the enabled ones. Default: the "
            "deployment's default provider (KYC_DEFAULT_PROVIDER).",
        )

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            enabled = provider_names()
            field = self.fields["provider"]
            field.choices = enabled
            field.error_messages["invalid_choice"] = (
                f'"{{input}}" is not an enabled provider. Enabled: {", ".join(enabled) or "none"}.'
            )

    @extend_schema_serializer(component_name="VerificationStarted")
    class StartOutput(VerificationOutput):
        resumed = serializers.BooleanField(
            help_text="True: the customer's verification in progress was returned instead of a new one."
        )

    queryset = VerificationSession.objects.all()

    def get_permissions(self):
        return [WriteScope()] if self.request.method == "POST" else [ReadScope()]

    def get_queryset(self):
        customer = customer_or_404(self.kwargs["customer_id"])
        return super().get_queryset().filter(customer=customer)

    @extend_schema(operation_id="customers_verifications_list", summary="List a customer's verifications")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="customers_verifications_start",
        summary="Start a verification",
        description="Creates a verification at the provider and returns where to send the end user "
        "(`hosted_url`, or `flow_url` which always works). If the customer has one in progress (a "
        "disrupted session, or one waiting for a resubmission) that one is returned with `resumed: "
        "true` and status 200. After `expired` or `abandoned` a new one is created; after a decline "
        "only when the deployment's policy allows (else `409 restart_not_allowed`); a verified customer "
        "or one in review gets `409 restart_not_allowed`. The customer's data is checked before the "
        "provider is asked (`400 invalid_customer_data`, naming the fields); after the provider refused "
        "the customer's last session for good, the same data gets `422 provider_refused` without a new "
        "session; and a customer has at most KYC_MAX_SESSIONS_PER_CUSTOMER_PER_DAY new sessions in 24 "
        "hours (`429 session_limit_reached` with Retry-After; staff can lift it).",
        request=InputSerializer,
        responses={201: StartOutput, 200: StartOutput},
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[
            OpenApiExample("Start", request_only=True, value={}),
            OpenApiExample("Start with a provider", request_only=True, value={"provider": "veriff"}),
            OpenApiExample(
                "Started",
                response_only=True,
                status_codes=["201"],
                value={**VERIFICATION_EXAMPLE, "resumed": False},
            ),
        ],
    )
    @idempotent
    def post(self, request, customer_id: int):
        customer = customer_or_404(customer_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            session, created = kyc_sessions.verification_start_or_resume(
                customer=customer, provider=serializer.validated_data.get("provider"), **actor_of(request)
            )
        except (
            kyc_sessions.VerificationRefused,
            kyc_sessions.VerificationInputInvalid,
            kyc_sessions.VerificationProviderRefused,
            kyc_sessions.VerificationLimitReached,
        ) as refused:
            raise _start_error(refused) from None
        if not session.hosted_url:
            session = selectors.session_wait_until_ready(session, timeout=settings.KYC_API_START_WAIT)
        data = {**verification_data(session), "resumed": not created}
        return Response(
            self.StartOutput(data).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


@extend_schema(tags=TAG)
class VerificationDetailApi(APIView):
    permission_classes = [ReadScope]

    @extend_schema(
        operation_id="verifications_retrieve",
        summary="Read a verification",
        responses={200: VerificationOutput},
        examples=[
            OpenApiExample("In progress", value={**VERIFICATION_EXAMPLE, "status": "started"}),
            OpenApiExample(
                "Resubmission requested",
                value={
                    **VERIFICATION_EXAMPLE,
                    "status": "resubmission_requested",
                    "resubmission": {
                        "reason_code": "204",
                        "message": "The photos were not sharp enough. "
                        "Hold still, use good light and avoid glare.",
                    },
                },
            ),
        ],
    )
    def get(self, request, verification_id):
        session = VerificationSession.objects.filter(reference=verification_id).first()
        if session is None:
            raise exceptions.NotFound("No verification with this id.")
        return Response(VerificationOutput(verification_data(session)).data)


@extend_schema(tags=TAG)
class VerificationLinkCreateApi(APIView):
    """A signed start link for the end user (by e-mail, SMS…); it expires."""

    permission_classes = [WriteScope]

    @extend_schema_serializer(component_name="VerificationLink")
    class OutputSerializer(serializers.Serializer):
        url = serializers.URLField()
        expires_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="customers_verification_links_create",
        summary="Create a signed start link",
        description="Opens our start page, which resumes the customer's verification in progress or "
        f"starts a new one. Expires after KYC_LINK_MAX_AGE seconds ({settings.KYC_LINK_MAX_AGE} here). "
        "The link carries no personal data. Nothing is stored, so repeating the call is harmless.",
        request=None,
        responses={201: OutputSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[
            OpenApiExample(
                "Link",
                value={
                    "url": "https://kyc.example.com/verify/start/eyJjIjo0Mn0:1t2x3y:AbCdEf/",
                    "expires_at": "2025-01-08T12:00:00Z",
                },
            )
        ],
    )
    @idempotent
    def post(self, request, customer_id: int):
        customer = customer_or_404(customer_id)
        expires_at = timezone.now() + dt.timedelta(seconds=settings.KYC_LINK_MAX_AGE)
        data = {"url": start_url(customer.pk), "expires_at": expires_at}
        return Response(self.OutputSerializer(data).data, status=status.HTTP_201_CREATED)
