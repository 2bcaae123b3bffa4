"""Notification endpoints (where we POST events), the events themselves, and their deliveries."""

import django_filters
from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.fields import StrictCharField, endpoint_url_field
from api.idempotency import idempotent
from api.pagination import IdFilter
from api.permissions import ReadScope, WriteScope, actor_of
from api.schema import IDEMPOTENCY_PARAMETER
from notifications import services
from notifications.models import Delivery, Endpoint, Event

TAG = ["Notifications"]


class EndpointOutput(serializers.ModelSerializer):
    class Meta:
        model = Endpoint
        fields = ["id", "url", "description", "enabled", "created_at", "disabled_at"]


class EndpointCreatedOutput(EndpointOutput):
    secret = serializers.CharField(
        help_text="Signs every delivery (KYC-Signature). Shown only here: keep it."
    )

    class Meta(EndpointOutput.Meta):
        fields = [*EndpointOutput.Meta.fields, "secret"]


class EventOutput(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField()
    created_at = serializers.DateTimeField()
    sequence = serializers.IntegerField(help_text="1, 2, 3… per customer.")
    data = serializers.JSONField(
        help_text="For customer.kyc_status.changed: customer, kyc_status, previous_kyc_status, changed_at."
    )

    def to_representation(self, instance):
        return services.event_envelope(instance)


class DeliveryOutput(serializers.ModelSerializer):
    event_id = serializers.UUIDField()

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_id",
            "sequence",
            "state",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "last_attempt_at",
            "succeeded_at",
            "created_at",
        ]


def _endpoint_or_404(endpoint_id: int) -> Endpoint:
    endpoint = Endpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise exceptions.NotFound("No notification endpoint with this id.")
    return endpoint


@extend_schema(tags=TAG)
class EndpointListCreateApi(generics.ListAPIView):
    serializer_class = EndpointOutput
    queryset = Endpoint.objects.all()
    ordering_fields = ["created_at"]

    @extend_schema_serializer(component_name="NotificationEndpointCreate")
    class InputSerializer(serializers.Serializer):
        url = endpoint_url_field(help_text="Where to POST events; HTTPS in production.")
        description = StrictCharField(max_length=200, required=False, allow_blank=True, default="")

        def validate_url(self, value: str) -> str:
            if settings.NOTIFICATIONS_REQUIRE_HTTPS and not value.lower().startswith("https://"):
                raise serializers.ValidationError("Must be an https:// URL.")
            return value

    def get_permissions(self):
        return [WriteScope()] if self.request.method == "POST" else [ReadScope()]

    @extend_schema(operation_id="notification_endpoints_list", summary="List notification endpoints")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="notification_endpoints_create",
        summary="Register a notification endpoint",
        description="From now on, every change of a customer's KYC status is POSTed to `url`, signed "
        "with `secret` (see Notifications above).",
        request=InputSerializer,
        responses={201: EndpointCreatedOutput},
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[
            OpenApiExample(
                "Register",
                request_only=True,
                value={"url": "https://example.com/kyc-events", "description": "prod"},
            ),
            OpenApiExample(
                "Registered",
                response_only=True,
                status_codes=["201"],
                value={
                    "id": 1,
                    "url": "https://example.com/kyc-events",
                    "description": "prod",
                    "enabled": True,
                    "created_at": "2025-01-01T12:00:00Z",
                    "disabled_at": None,
                    "secret": "whsec_8Jd0…",
                },
            ),
        ],
    )
    @idempotent
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.endpoint_create(**serializer.validated_data, **actor_of(request))
        return Response(EndpointCreatedOutput(endpoint).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAG)
class EndpointDetailApi(APIView):
    def get_permissions(self):
        return [WriteScope()] if self.request.method == "DELETE" else [ReadScope()]

    @extend_schema(
        operation_id="notification_endpoints_retrieve",
        summary="Read a notification endpoint",
        responses={200: EndpointOutput},
    )
    def get(self, request, endpoint_id: int):
        return Response(EndpointOutput(_endpoint_or_404(endpoint_id)).data)

    @extend_schema(
        operation_id="notification_endpoints_disable",
        summary="Disable a notification endpoint",
        description="Stops sending to it. Its deliveries stay on record.",
        responses={204: None},
    )
    def delete(self, request, endpoint_id: int):
        services.endpoint_disable(endpoint=_endpoint_or_404(endpoint_id), **actor_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=Delivery.State.choices, distinct=False)

    class Meta:
        model = Delivery
        fields = ["state"]


@extend_schema(tags=TAG)
class EndpointDeliveriesApi(generics.ListAPIView):
    permission_classes = [ReadScope]
    serializer_class = DeliveryOutput
    filterset_class = DeliveryFilter
    ordering_fields = ["created_at"]
    queryset = Delivery.objects.none()

    def get_queryset(self):
        return Delivery.objects.filter(endpoint=_endpoint_or_404(self.kwargs["endpoint_id"]))

    @extend_schema(operation_id="notification_endpoints_deliveries", summary="An endpoint's deliveries")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class EventFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id", help_text="Customer id.")
    type = django_filters.CharFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Event
        fields = ["customer", "type", "created_after"]


@extend_schema(tags=TAG)
class EventListApi(generics.ListAPIView):
    permission_classes = [ReadScope]
    serializer_class = EventOutput
    filterset_class = EventFilter
    ordering_fields = ["created_at"]
    queryset = Event.objects.all()

    @extend_schema(
        operation_id="events_list",
        summary="List events",
        description="What was (or is being) sent to your endpoints.",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=TAG)
class EventDetailApi(APIView):
    permission_classes = [ReadScope]

    @extend_schema(operation_id="events_retrieve", summary="Read an event", responses={200: EventOutput})
    def get(self, request, event_id):
        event = Event.objects.filter(pk=event_id).first()
        if event is None:
            raise exceptions.NotFound("No event with this id.")
        return Response(EventOutput(event).data)
