"""GDPR erasure of one customer through the API (the same service as the admin action and
`manage.py erase_customer`: kyc.operations.erasure)."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from api.fields import StrictCharField
from api.idempotency import idempotent
from api.models import ApiKey
from api.permissions import StaffScope, actor_of
from api.schema import IDEMPOTENCY_PARAMETER
from api.views.customers import customer_or_404
from kyc.models import Customer
from kyc.operations.erasure import customer_erase

TAG = ["Customers"]
ERASE_PERMISSION = "kyc.erase_customer"


class CanEraseCustomers(StaffScope):
    """An API key with the `staff` scope (the business's backend forwarding its user's request), or
    a signed-in staff member holding `kyc.erase_customer` (the admin action's permission): the
    `staff` scope alone, which every staff member's session has, is not enough for a person."""

    # A data-protection officer erases without needing to read cases: the erase permission is the
    # one that counts for a person.
    staff_permissions = ("kyc.erase_customer",)

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if isinstance(request.auth, ApiKey):
            return True
        if not request.user.has_perm(ERASE_PERMISSION):
            raise exceptions.PermissionDenied(
                f"Erasing a customer needs the '{ERASE_PERMISSION}' permission."
            )
        return True


class ErasureOutput(serializers.Serializer):
    customer_id = serializers.IntegerField()
    external_ref = serializers.CharField(help_text="Kept: the minimal legal record.")
    erased_at = serializers.DateTimeField(help_text="When the customer was first erased.")
    already_erased = serializers.BooleanField(
        help_text="True when an earlier request had erased the customer (this one finished what was left)."
    )
    files_deleted = serializers.IntegerField()
    decisions_redacted = serializers.IntegerField()
    webhooks_redacted = serializers.IntegerField()
    sessions_closed = serializers.IntegerField()
    review_notes_redacted = serializers.IntegerField()
    comments_redacted = serializers.IntegerField(help_text="Staff comments on the customer's cases, blanked.")
    idempotency_records_deleted = serializers.IntegerField()
    delivery_responses_redacted = serializers.IntegerField()


ERASURE_EXAMPLE = {
    "customer_id": 42,
    "external_ref": "CUST-42",
    "erased_at": "2025-01-01T12:00:00Z",
    "already_erased": False,
    "files_deleted": 4,
    "decisions_redacted": 1,
    "webhooks_redacted": 3,
    "sessions_closed": 0,
    "review_notes_redacted": 0,
    "comments_redacted": 0,
    "idempotency_records_deleted": 1,
    "delivery_responses_redacted": 0,
}


@extend_schema(tags=TAG)
class CustomerErasureApi(APIView):
    permission_classes = [CanEraseCustomers]

    @extend_schema_serializer(component_name="CustomerErasure")
    class InputSerializer(serializers.Serializer):
        request_ref = StrictCharField(
            max_length=100,
            help_text="The erasure request's reference in your system (a ticket number): recorded in "
            "the audit trail. Never the customer's data.",
        )

        def validate_request_ref(self, value: str) -> str:
            if not value.strip():
                raise serializers.ValidationError("This field may not be blank.")
            return value.strip()

    @extend_schema(
        operation_id="customers_erase",
        summary="Erase a customer's personal data (GDPR art. 17)",
        description=(
            "Deletes the customer's name, email, date of birth, every evidence file, the verified "
            "person and document data, the stored webhook bodies, the notes of staff decisions and "
            "the stored API responses about the customer; open verifications are closed as "
            "abandoned. Kept, as the minimal legal record: `external_ref`, country, statuses, "
            "decision codes, times, file digests and the audit trail, to which the erasure is added "
            "with the caller (staff member or API key) and `request_ref`. Cannot be undone.\n\n"
            "Needs an API key with the `staff` scope, or a signed-in staff member with the "
            "`kyc.erase_customer` permission. Safe to repeat: a second request erases what an "
            "interrupted first one left and answers `already_erased: true`; with an "
            "`Idempotency-Key` a retry gets the first response again."
        ),
        request=InputSerializer,
        responses={200: ErasureOutput},
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[
            OpenApiExample("Erase", request_only=True, value={"request_ref": "DSR-2025-0042"}),
            OpenApiExample("Erased", response_only=True, status_codes=["200"], value=ERASURE_EXAMPLE),
        ],
    )
    @idempotent
    def post(self, request, customer_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = customer_or_404(customer_id)
        actor = actor_of(request)
        report = customer_erase(
            customer_id=customer.pk,
            actor=actor["actor"],
            actor_label=actor["actor_label"],
            request_ref=serializer.validated_data["request_ref"],
        )
        customer = Customer.objects.get(pk=customer.pk)
        output = ErasureOutput(
            {
                "customer_id": customer.pk,
                "external_ref": customer.external_ref,
                "erased_at": customer.erased_at,
                "already_erased": report.already_erased,
                **report.counts(),
            }
        )
        return Response(output.data)
