"""Staff endpoints: the review queue, cases (a verification with everything known about it) and
media (metadata, and the file itself, every download audited)."""

import json

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, generics, renderers, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from api import selectors
from api.filters import IsoDateTimeFilter
from api.permissions import StaffScope, actor_of
from api.views.customers import CustomerOutput
from api.views.verifications import AttemptOutput
from kyc import status as st
from kyc.audit import audit_record
from kyc.media_serving import media_file_response, view_is_new
from kyc.models import (
    Media,
    ProviderDecision,
    Review,
    ReviewReason,
    RiskFlag,
    ScreeningResult,
    VerificationSession,
)
from providers import registry

TAG = ["Staff"]


class RiskFlagOutput(serializers.ModelSerializer):
    class Meta:
        model = RiskFlag
        fields = ["kind", "code", "detail"]


class ScreeningResultOutput(serializers.ModelSerializer):
    case_id = serializers.UUIDField(source="session.reference", default=None, allow_null=True)
    proposed_by = serializers.CharField(source="proposed_by.get_username", default=None, allow_null=True)
    resolved_by = serializers.CharField(source="resolved_by.get_username", default=None, allow_null=True)

    class Meta:
        model = ScreeningResult
        fields = [
            "id",
            "case_id",
            "provider",
            "source",
            "check_type",
            "list_type",
            "matched_name",
            "date_of_birth",
            "countries",
            "match_types",
            "sources",
            "state",
            "received_at",
            "proposed_by",
            "proposed_at",
            "resolution_reason",
            "resolved_by",
            "resolved_at",
        ]


class ReasonExplainedOutput(serializers.Serializer):
    code = serializers.CharField()
    explained = serializers.CharField()


class DecisionOutput(serializers.ModelSerializer):
    risk_flags = RiskFlagOutput(
        many=True,
        help_text="Risk signals the decision carried (risk labels, PEP/sanctions, matched sessions).",
    )
    code_explained = serializers.SerializerMethodField()
    reason_code_explained = serializers.SerializerMethodField()
    reason_codes = serializers.ListField(
        source="reasons",
        child=serializers.CharField(),
        help_text="Every reason the provider gave, the deciding one (reason_code) among them.",
    )
    reason_codes_explained = serializers.SerializerMethodField(
        help_text='Each of reason_codes with staff\'s words for it ("" when there are none).'
    )
    attempt_id = serializers.CharField(source="attempt.provider_attempt_id", default=None, allow_null=True)

    class Meta:
        model = ProviderDecision
        fields = [
            "status",
            "provider_status",
            "code",
            "code_explained",
            "reason",
            "reason_code",
            "reason_code_explained",
            "reason_codes",
            "reason_codes_explained",
            "attempt_id",
            "person",
            "document",
            "decided_at",
            "received_at",
            "applied",
            "risk_flags",
        ]

    def get_code_explained(self, obj) -> str:
        return registry.explain_code(obj.session.provider, obj.code)

    def get_reason_code_explained(self, obj) -> str:
        return registry.explain_reason(obj.session.provider, obj.reason_code)

    @extend_schema_field(ReasonExplainedOutput(many=True))
    def get_reason_codes_explained(self, obj) -> list[dict[str, str]]:
        provider = obj.session.provider
        return [{"code": code, "explained": registry.explain_reason(provider, code)} for code in obj.reasons]


class MediaOutput(serializers.ModelSerializer):
    verification_id = serializers.UUIDField(source="session.reference")
    attempt_id = serializers.CharField(source="attempt.provider_attempt_id", default=None, allow_null=True)
    proven_type = serializers.CharField(
        help_text="The type the file's bytes prove (image/jpeg, image/png, image/webp, image/heic, "
        "video/mp4, video/webm, application/pdf); empty when none of them, or not stored yet. "
        "mime_type may be only the provider's word."
    )

    class Meta:
        model = Media
        fields = [
            "id",
            "verification_id",
            "attempt_id",
            "context",
            "kind",
            "mime_type",
            "proven_type",
            "size",
            "sha256",
            "state",
            "created_at",
            "stored_at",
        ]


class CaseSummaryOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="reference")
    customer_id = serializers.IntegerField()
    customer_external_ref = serializers.CharField(source="customer.external_ref")
    customer_name = serializers.CharField(source="customer.full_name")
    queued_since = serializers.DateTimeField(help_text="When the case entered the queue (the SLA clock).")
    reason_code = serializers.CharField(allow_null=True, help_text="Of the provider's latest decision.")
    awaiting_confirmation = serializers.BooleanField(help_text="An override waits for a second approver.")
    assignee = serializers.CharField(source="assignee.get_username", default=None, allow_null=True)

    class Meta:
        model = VerificationSession
        fields = [
            "id",
            "customer_id",
            "customer_external_ref",
            "customer_name",
            "provider",
            "provider_session_id",
            "status",
            "created_at",
            "decided_at",
            "queued_since",
            "reason_code",
            "awaiting_confirmation",
            "assignee",
        ]


class ReviewReasonOutput(serializers.ModelSerializer):
    class Meta:
        model = ReviewReason
        fields = ["id", "code", "label", "outcome"]


class ReviewOutput(serializers.ModelSerializer):
    case_id = serializers.UUIDField(source="session.reference")
    reason = ReviewReasonOutput()
    proposed_by = serializers.CharField(source="proposed_by.get_username")
    confirmed_by = serializers.CharField(source="confirmed_by.get_username", default=None, allow_null=True)
    rejected_by = serializers.CharField(source="rejected_by.get_username", default=None, allow_null=True)
    four_eyes = serializers.ListField(
        child=serializers.CharField(),
        help_text="Why an approval waited for a second person besides an override (KYC_FOUR_EYES_APPROVALS): "
        "`held_by_policy`, `provider_review`, `earlier_decline`.",
    )

    class Meta:
        model = Review
        fields = [
            "id",
            "case_id",
            "outcome",
            "reason",
            "note",
            "provider_status",
            "is_override",
            "four_eyes",
            "state",
            "proposed_by",
            "proposed_at",
            "confirmed_by",
            "confirmed_at",
            "rejected_by",
            "rejected_at",
            "rejection_note",
            "effective_at",
            "superseded_at",
        ]


class CaseOutput(CaseSummaryOutput):
    customer = CustomerOutput()
    attempts = AttemptOutput(many=True)
    decisions = DecisionOutput(many=True)
    media = MediaOutput(many=True)
    reviews = ReviewOutput(many=True, help_text="Staff decisions, newest first; none is ever edited.")
    screening_results = ScreeningResultOutput(
        many=True,
        source="customer.screening_results",
        help_text="The customer's PEP / sanctions / adverse-media hits, newest first, as resolved by staff.",
    )

    class Meta(CaseSummaryOutput.Meta):
        fields = [
            *CaseSummaryOutput.Meta.fields,
            "customer",
            "attempts",
            "decisions",
            "media",
            "reviews",
            "screening_results",
        ]


class CaseFilter(django_filters.FilterSet):
    # distinct=False: the status is the session's own column, no join can repeat a row, and
    # django-filter's default SELECT DISTINCT over every selected column is slow on the declined
    # queue at full size (benchmarks/backoffice.py).
    status = django_filters.MultipleChoiceFilter(
        choices=st.CHOICES, distinct=False, help_text="One or more (repeat the parameter)."
    )
    external_ref = django_filters.CharFilter(field_name="customer__external_ref")
    provider_session_id = django_filters.CharFilter()
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = VerificationSession
        fields = ["status", "external_ref", "provider_session_id", "created_after", "created_before"]


@extend_schema(tags=TAG)
class ReviewQueueApi(generics.ListAPIView):
    permission_classes = [StaffScope]
    serializer_class = CaseSummaryOutput
    filterset_class = CaseFilter
    ordering_fields = ["queued_at"]
    ordering = ["queued_at"]  # the stored queue's index (kyc.queue.review_queue)
    queryset = VerificationSession.objects.none()

    def get_queryset(self):
        return selectors.review_queue()

    @extend_schema(
        operation_id="staff_review_queue",
        summary="The review queue",
        description="The cases that need a person, as in the back-office: what the review policy sends "
        "to review (by default the provider declined, asked for a resubmission, or handed the case over) "
        "with no staff decision yet, and overrides awaiting a second approver. Oldest first.",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=TAG)
class CaseListApi(generics.ListAPIView):
    permission_classes = [StaffScope]
    serializer_class = CaseSummaryOutput
    filterset_class = CaseFilter
    ordering_fields = ["created_at"]
    queryset = VerificationSession.objects.none()

    def get_queryset(self):
        return selectors.cases()

    @extend_schema(operation_id="staff_cases_list", summary="List cases")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=TAG)
class CaseDetailApi(APIView):
    permission_classes = [StaffScope]

    @extend_schema(
        operation_id="staff_cases_retrieve",
        summary="Read a case",
        description="The verification with its customer, attempts, every provider decision (reason "
        "codes explained, risk flags) and media metadata, and the customer's screening hits. Contains "
        "personal data.",
        responses={200: CaseOutput},
    )
    def get(self, request, case_id):
        session = selectors.cases().filter(reference=case_id).first()
        if session is None:
            raise exceptions.NotFound("No case with this id.")
        return Response(CaseOutput(session).data)


def _media_or_404(media_id: int) -> Media:
    media = Media.objects.select_related("session", "attempt").filter(pk=media_id).first()
    if media is None:
        raise exceptions.NotFound("No media with this id.")
    return media


def _may_view_media(request) -> None:
    if request.user.is_staff and not request.user.has_perm("kyc.view_media"):
        raise exceptions.PermissionDenied("You do not have permission to view media.")


@extend_schema(tags=TAG)
class MediaDetailApi(APIView):
    permission_classes = [StaffScope]

    @extend_schema(
        operation_id="staff_media_retrieve", summary="Media metadata", responses={200: MediaOutput}
    )
    def get(self, request, media_id: int):
        _may_view_media(request)
        return Response(MediaOutput(_media_or_404(media_id)).data)


class AnyMediaRenderer(renderers.BaseRenderer):
    """Lets a client ask for the file's own type (Accept: image/jpeg); errors still come as JSON."""

    media_type = "*/*"
    format = "bin"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode() if data is not None else b""


@extend_schema(tags=TAG)
class MediaContentApi(APIView):
    permission_classes = [StaffScope]
    renderer_classes = [renderers.JSONRenderer, AnyMediaRenderer]
    filter_backends = []  # one file, not a list

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response):  # an error: JSON, whatever the client accepts
            response.accepted_renderer = renderers.JSONRenderer()
            response.accepted_media_type = "application/json"
            response.renderer_context = self.get_renderer_context()
        return response

    @extend_schema(
        operation_id="staff_media_content",
        summary="Download a media file",
        description="The evidence file itself, always as an attachment. Its Content-Type is what the "
        "file's bytes prove (JPEG, PNG, WebP, HEIC, MP4, WebM, PDF), whatever the provider declared; "
        "anything else is application/octet-stream. Every download is recorded in the audit trail "
        "with who downloaded it. 404 while the file is not stored yet.",
        request=None,
        responses={(200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")},
    )
    def get(self, request, media_id: int):
        _may_view_media(request)
        media = _media_or_404(media_id)
        if media.state != Media.State.STORED:
            raise exceptions.NotFound("This media file is not stored yet.")
        range_header = request.headers.get("Range", "")
        # One entry per download: a client resuming it asks for ranges of the same file.
        actor = actor_of(request)
        viewer = actor["actor_label"] or f"user:{request.user.pk}"
        if view_is_new(media=media, viewer=viewer, ranged=bool(range_header)):
            audit_record(
                action="media.viewed",
                customer_id=media.session.customer_id,
                session=media.session,
                object=media,
                after={"context": media.context, "via": "api"},
                **actor,
            )
        return media_file_response(media, inline=False, range_header=range_header)
