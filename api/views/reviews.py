"""Staff decisions through the API: propose (effective at once when it agrees with the provider and
no four-eyes rule applies, else awaiting a second approver), confirm, reject or withdraw a waiting
one. The services in kyc.reviews check the staff member's permissions, the case's assignee and the
four-eyes rule themselves."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.fields import StrictCharField
from api.idempotency import idempotent
from api.permissions import StaffPersonScope, StaffScope
from api.schema import IDEMPOTENCY_PARAMETER
from api.views.staff import ReviewOutput, ReviewReasonOutput
from kyc.models import Review, ReviewOutcome, ReviewReason, VerificationSession
from kyc.services import reviews as decisions

TAG = ["Staff"]
PERSON_ONLY = (
    " Needs a signed-in staff member (session and CSRF token) with the permission: API keys are refused "
    "with `403 person_required`."
)


class ReviewRefused(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "review_refused"


def _review_or_404(review_id: int) -> Review:
    review = Review.objects.select_related("session", "reason", "proposed_by").filter(pk=review_id).first()
    if review is None:
        raise exceptions.NotFound("No review with this id.")
    return review


def _output(review_id: int) -> dict:
    return ReviewOutput(
        Review.objects.select_related("session", "reason", "proposed_by", "confirmed_by", "rejected_by").get(
            pk=review_id
        )
    ).data


@extend_schema(tags=TAG)
class ReviewReasonListApi(generics.ListAPIView):
    """The reasons a staff decision is chosen from (a short list: not paginated)."""

    permission_classes = [StaffScope]
    serializer_class = ReviewReasonOutput
    pagination_class = None
    filter_backends = []

    def get_queryset(self) -> QuerySet:
        return ReviewReason.objects.filter(active=True)

    @extend_schema(operation_id="staff_review_reasons_list", summary="Reasons for staff decisions")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=TAG)
class ReviewProposeApi(APIView):
    permission_classes = [StaffPersonScope]

    @extend_schema_serializer(component_name="ReviewPropose")
    class InputSerializer(serializers.Serializer):
        outcome = serializers.ChoiceField(choices=ReviewOutcome.choices)
        reason = serializers.IntegerField(min_value=1, help_text="An id from the review reasons.")
        note = StrictCharField(max_length=5000, help_text="Why; required.")

    @extend_schema(
        operation_id="staff_reviews_propose",
        summary="Record a staff decision on a case",
        description="Takes effect at once when it agrees with the provider and no four-eyes rule applies; "
        "an override, or an approval the four-eyes policy names (`four_eyes`: a case held by the policy, "
        "a provider `review`, a customer declined before), waits for a supervisor's confirmation (state "
        "`awaiting_confirmation`). Refused with `409 review_refused` when the case has no provider result "
        "yet, the reason does not fit the outcome, the case is assigned to someone else (only its "
        "assignee decides; deciding an unassigned case takes it), or a decision already waits for a "
        "second person (withdraw or reject it first)." + PERSON_ONLY,
        request=InputSerializer,
        responses={201: ReviewOutput},
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[
            OpenApiExample(
                "Override a decline",
                request_only=True,
                value={
                    "outcome": "approve",
                    "reason": 3,
                    "note": "Document checked by phone with the issuer.",
                },
            )
        ],
    )
    @idempotent
    def post(self, request, case_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session_id = (
            VerificationSession.objects.filter(reference=case_id).values_list("pk", flat=True).first()
        )
        if session_id is None:
            raise exceptions.NotFound("No case with this id.")
        try:
            review = decisions.review_propose(
                session_id=session_id, actor=request.user, **serializer.validated_data
            )
        except decisions.ReviewError as refused:
            raise ReviewRefused(str(refused)) from None
        return Response(_output(review.pk), status=status.HTTP_201_CREATED)


@extend_schema(tags=TAG)
class ReviewConfirmApi(APIView):
    permission_classes = [StaffPersonScope]

    @extend_schema(
        operation_id="staff_reviews_confirm",
        summary="Confirm an override (four-eyes)",
        description="A second staff member with the supervisor permission confirms an override: it takes "
        "effect and the customer's KYC status follows. Nobody confirms their own (`403`); a review that "
        "is no longer awaiting confirmation gets `409 review_refused`." + PERSON_ONLY,
        request=None,
        responses={200: ReviewOutput},
    )
    def post(self, request, review_id: int):
        review = _review_or_404(review_id)
        try:
            decisions.review_confirm(review_id=review.pk, actor=request.user)
        except decisions.ReviewError as refused:
            raise ReviewRefused(str(refused)) from None
        return Response(_output(review.pk))


@extend_schema(tags=TAG)
class ReviewRejectApi(APIView):
    permission_classes = [StaffPersonScope]

    @extend_schema_serializer(component_name="ReviewReject")
    class InputSerializer(serializers.Serializer):
        note = StrictCharField(max_length=5000, help_text="Why the override is refused; required.")

    @extend_schema(
        operation_id="staff_reviews_reject",
        summary="Reject an override",
        description="A supervisor refuses an override; the provider's decision (or an earlier staff one) "
        "stands." + PERSON_ONLY,
        request=InputSerializer,
        responses={200: ReviewOutput},
    )
    def post(self, request, review_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = _review_or_404(review_id)
        try:
            decisions.review_reject(
                review_id=review.pk, actor=request.user, note=serializer.validated_data["note"]
            )
        except decisions.ReviewError as refused:
            raise ReviewRefused(str(refused)) from None
        return Response(_output(review.pk))


@extend_schema(tags=TAG)
class ReviewWithdrawApi(APIView):
    permission_classes = [StaffPersonScope]

    @extend_schema(
        operation_id="staff_reviews_withdraw",
        summary="Withdraw a waiting decision",
        description="Its proposer, or a supervisor, takes back a decision that waits for a second person; "
        "only then can another decision be recorded on the case. A review that is no longer awaiting "
        "confirmation gets `409 review_refused`; anyone else gets `403`." + PERSON_ONLY,
        request=None,
        responses={200: ReviewOutput},
    )
    def post(self, request, review_id: int):
        review = _review_or_404(review_id)
        try:
            decisions.review_withdraw(review_id=review.pk, actor=request.user)
        except decisions.ReviewError as refused:
            raise ReviewRefused(str(refused)) from None
        return Response(_output(review.pk))
