"""Customers: create, read, list, find by external reference, KYC status with its history."""

import django_filters
from django.db import IntegrityError
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.fields import CountryField, StrictCharField, StrictEmailField, StrictRegexField
from api.filters import IsoDateTimeFilter
from api.idempotency import idempotent
from api.permissions import ReadScope, WriteScope, actor_of
from api.schema import IDEMPOTENCY_PARAMETER
from kyc import selectors
from kyc.models import Customer, VerificationSession
from kyc.services import customers as kyc_customers
from kyc.validators import date_of_birth_problem

TAG = ["Customers"]

CUSTOMER_EXAMPLE = {
    "id": 42,
    "external_ref": "CUST-42",
    "first_name": "Ada",
    "last_name": "Example",
    "email": "ada@example.com",
    "date_of_birth": "1985-04-12",
    "country": "EE",
    "kyc_status": "unverified",
    "kyc_status_changed_at": None,
    "created_at": "2025-01-01T12:00:00Z",
    "updated_at": "2025-01-01T12:00:00Z",
}


class CustomerOutput(serializers.ModelSerializer):
    email = serializers.CharField(help_text="An e-mail address, or empty.")

    class Meta:
        model = Customer
        fields = [
            "id",
            "external_ref",
            "first_name",
            "last_name",
            "email",
            "date_of_birth",
            "country",
            "kyc_status",
            "kyc_status_changed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def customer_or_404(customer_id: int) -> Customer:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise exceptions.NotFound("No customer with this id.")
    return customer


class CustomerFilter(django_filters.FilterSet):
    external_ref = django_filters.CharFilter(help_text="Exact external reference.")
    kyc_status = django_filters.MultipleChoiceFilter(  # a column of the row: no DISTINCT
        choices=Customer.KycStatus.choices,
        distinct=False,
        help_text="One or more statuses (repeat the parameter).",
    )
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Customer
        fields = ["external_ref", "kyc_status", "created_after", "created_before"]


@extend_schema(tags=TAG)
class CustomerListCreateApi(generics.ListAPIView):
    """GET lists customers; POST creates one."""

    @extend_schema_serializer(component_name="CustomerCreate")
    class InputSerializer(serializers.Serializer):
        external_ref = StrictRegexField(
            r"^[^\x00-\x1f\x7f/]+$",
            max_length=100,
            help_text="Your own unique reference (your user id); no '/' or control characters.",
            error_messages={"invalid": "Printable characters only, without '/'."},
        )
        first_name = StrictCharField(max_length=150, required=False, allow_blank=True, default="")
        last_name = StrictCharField(max_length=150, required=False, allow_blank=True, default="")
        email = StrictEmailField(required=False, allow_blank=True, default="")
        date_of_birth = serializers.DateField(
            required=False,
            allow_null=True,
            default=None,
            help_text="Not in the future, nor more than 130 years ago.",
        )
        country = CountryField(
            required=False, allow_blank=True, default="", help_text="ISO 3166-1 alpha-2, e.g. EE."
        )

        # After each field's own checks (two letters, a date): what a provider would refuse.
        def validate_date_of_birth(self, value):
            if problem := date_of_birth_problem(value):
                raise serializers.ValidationError(problem)
            return value

    serializer_class = CustomerOutput
    filterset_class = CustomerFilter
    ordering_fields = ["created_at"]
    queryset = Customer.objects.all()

    def get_permissions(self):
        return [WriteScope()] if self.request.method == "POST" else [ReadScope()]

    @extend_schema(
        operation_id="customers_list",
        summary="List customers",
        description="Newest first; filter by `external_ref`, `kyc_status` and creation time.",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="customers_create",
        summary="Create a customer",
        description="Needs the `write` scope. `external_ref` is unique: creating a second customer with "
        "the same reference is refused with `409 conflict`.",
        request=InputSerializer,
        responses={201: CustomerOutput},
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[
            OpenApiExample(
                "Create",
                request_only=True,
                value={
                    "external_ref": "CUST-42",
                    "first_name": "Ada",
                    "last_name": "Example",
                    "email": "ada@example.com",
                    "date_of_birth": "1985-04-12",
                    "country": "EE",
                },
            ),
            OpenApiExample("Created", response_only=True, status_codes=["201"], value=CUSTOMER_EXAMPLE),
        ],
    )
    @idempotent
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        exists = "A customer with this external reference already exists."
        if Customer.objects.filter(external_ref=data["external_ref"]).exists():
            raise Conflict({"external_ref": [exists]})
        try:
            customer = kyc_customers.customer_create(**data, **actor_of(request))
        except IntegrityError:  # created by a concurrent request since the check above
            raise Conflict({"external_ref": [exists]}) from None
        return Response(CustomerOutput(customer).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAG)
class CustomerDetailApi(APIView):
    permission_classes = [ReadScope]

    @extend_schema(
        operation_id="customers_retrieve",
        summary="Read a customer",
        responses={200: CustomerOutput},
        examples=[OpenApiExample("Customer", value=CUSTOMER_EXAMPLE)],
    )
    def get(self, request, customer_id: int):
        return Response(CustomerOutput(customer_or_404(customer_id)).data)


@extend_schema(tags=TAG)
class CustomerByExternalRefApi(APIView):
    permission_classes = [ReadScope]

    @extend_schema(
        operation_id="customers_by_external_ref",
        summary="Find a customer by your external reference",
        description="The reference is a path segment: URL-encode it; it cannot contain `/`.",
        responses={200: CustomerOutput},
        examples=[OpenApiExample("Customer", value=CUSTOMER_EXAMPLE)],
    )
    def get(self, request, external_ref: str):
        customer = Customer.objects.filter(external_ref=external_ref).first()
        if customer is None:
            raise exceptions.NotFound("No customer with this external reference.")
        return Response(CustomerOutput(customer).data)


@extend_schema(tags=TAG)
class CustomerKycStatusApi(APIView):
    """The effective status: what to grant or refuse the customer on."""

    permission_classes = [ReadScope]

    @extend_schema_serializer(component_name="KycStatus")
    class OutputSerializer(serializers.Serializer):
        customer_id = serializers.IntegerField()
        external_ref = StrictCharField()
        kyc_status = serializers.ChoiceField(choices=Customer.KycStatus.choices)
        changed_at = serializers.DateTimeField(allow_null=True)
        latest_verification = inline_serializer(
            "LatestVerification",
            {
                "id": serializers.UUIDField(),
                "status": serializers.CharField(),
                "created_at": serializers.DateTimeField(),
            },
            allow_null=True,
        )
        history = inline_serializer(
            "KycStatusChange",
            {
                "kyc_status": serializers.ChoiceField(choices=Customer.KycStatus.choices),
                "previous_kyc_status": serializers.ChoiceField(choices=Customer.KycStatus.choices),
                "changed_at": serializers.DateTimeField(),
            },
            many=True,
            help_text="Every change, newest first.",
        )

    @extend_schema(
        operation_id="customers_kyc_status",
        summary="A customer's KYC status and its history",
        description="`verified` means the identity was verified (by the provider, or by staff on top of "
        "it); `action_required` means the customer must do something (try again, or start a new "
        "verification); `rejected` is final unless your policy lets them start again.",
        responses={200: OutputSerializer},
        examples=[
            OpenApiExample(
                "Verified",
                value={
                    "customer_id": 42,
                    "external_ref": "CUST-42",
                    "kyc_status": "verified",
                    "changed_at": "2025-01-01T12:05:00Z",
                    "latest_verification": {
                        "id": "3f1c2a9e-5b7d-4e0f-9a61-2c8d7b4e1f00",
                        "status": "approved",
                        "created_at": "2025-01-01T12:00:00Z",
                    },
                    "history": [
                        {
                            "kyc_status": "verified",
                            "previous_kyc_status": "in_progress",
                            "changed_at": "2025-01-01T12:05:00Z",
                        },
                        {
                            "kyc_status": "in_progress",
                            "previous_kyc_status": "unverified",
                            "changed_at": "2025-01-01T12:00:00Z",
                        },
                    ],
                },
            )
        ],
    )
    def get(self, request, customer_id: int):
        customer = customer_or_404(customer_id)
        latest = customer.sessions.order_by("-created_at", "-id").first()
        data = {
            "customer_id": customer.pk,
            "external_ref": customer.external_ref,
            "kyc_status": customer.kyc_status,
            "changed_at": customer.kyc_status_changed_at,
            "latest_verification": _latest(latest),
            "history": selectors.customer_kyc_status_history(customer),
        }
        return Response(self.OutputSerializer(data).data)


def _latest(session: VerificationSession | None) -> dict | None:
    if session is None:
        return None
    return {"id": session.reference, "status": session.status, "created_at": session.created_at}
