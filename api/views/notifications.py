"""Notification endpoints (where we POST events), the events themselves, and their deliveries."""

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.fields import StrictCharField, endpoint_url_field
from api.filters import IsoDateTimeFilter
from api.idempotency import idempotent
from api.models import ApiKey
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


SECRET_SHOWN_ONCE = (
    "The secret was shown once, in the first response to this request, and is not kept for replays. "
    "If it was lost, rotate it: POST /api/v1/notification-endpoints/{id}/rotate-secret/."
)


class EndpointCreatedOutput(EndpointOutput):
    secret = serializers.CharField(
        allow_null=True,
        help_text="Signs every delivery (Standard Webhooks, `whsec_` + base64). Shown only here: keep it. "
        "Null in a replay of the request (Idempotent-Replayed), which says so in `secret_note`.",
    )
    secret_note = serializers.CharField(
        required=False, help_text="Only in a replay: why `secret` is null there."
    )

    class Meta(EndpointOutput.Meta):
        fields = [*EndpointOutput.Meta.fields, "secret", "secret_note"]


class EndpointSecretOutput(serializers.Serializer):
    id = serializers.IntegerField()
    secret = serializers.CharField(help_text="The new secret. Shown only here: keep it.")
    previous_secret_expires_at = serializers.DateTimeField(
        help_text="Until then deliveries carry a signature with the previous secret too."
    )


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


def _endpoints(request):
    """An API key sees the endpoints it registered; staff (a signed-in person) see all. Another
    key's endpoint is a 404, as if it did not exist."""
    if isinstance(request.auth, ApiKey):
        return Endpoint.objects.filter(api_key=request.auth)
    return Endpoint.objects.all()


def _endpoint_or_404(request, endpoint_id: int) -> Endpoint:
    endpoint = _endpoints(request).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise exceptions.NotFound("No notification endpoint with this id.")
    return endpoint


@extend_schema(tags=TAG)
class EndpointListCreateApi(generics.ListAPIView):
    serializer_class = EndpointOutput
    queryset = Endpoint.objects.none()
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return _endpoints(self.request)

    @extend_schema_serializer(component_name="NotificationEndpointCreate")
    class InputSerializer(serializers.Serializer):
        url = endpoint_url_field(help_text="Where to POST events; HTTPS in production.")
        description = StrictCharField(max_length=200, required=False, allow_blank=True, default="")

    def get_permissions(self):
        return [WriteScope()] if self.request.method == "POST" else [ReadScope()]

    @extend_schema(
        operation_id="notification_endpoints_list",
        summary="List notification endpoints",
        description="The endpoints this API key registered (a staff session sees all).",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="notification_endpoints_create",
        summary="Register a notification endpoint",
        description="From now on, every change of a customer's KYC status is POSTed to `url`, signed "
        "with `secret` (see Notifications above). The endpoint belongs to this API key: other keys "
        "neither see nor change it. `url` must point to a public address.",
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
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        try:
            endpoint = services.endpoint_create(
                **serializer.validated_data, **actor_of(request), api_key=api_key
            )
        except services.EndpointRefused as refused:  # not http(s), or not a public address
            raise serializers.ValidationError({"url": [str(refused)]}) from None
        data = EndpointCreatedOutput(endpoint).data
        response = Response(data, status=status.HTTP_201_CREATED)
        # What a replay of this request answers: everything but the secret (api/idempotency.py).
        response.replay_data = {**data, "secret": None, "secret_note": SECRET_SHOWN_ONCE}
        return response


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
        return Response(EndpointOutput(_endpoint_or_404(request, endpoint_id)).data)

    @extend_schema(
        operation_id="notification_endpoints_disable",
        summary="Disable a notification endpoint",
        description="Stops sending to it. Its deliveries stay on record.",
        responses={204: None},
    )
    def delete(self, request, endpoint_id: int):
        services.endpoint_disable(endpoint=_endpoint_or_404(request, endpoint_id), **actor_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=TAG)
class EndpointSecretRotateApi(APIView):
    permission_classes = [WriteScope]

    @extend_schema(
        operation_id="notification_endpoints_rotate_secret",
        summary="Rotate a notification endpoint's secret",
        description="Makes a new secret and answers it (shown only here). The previous secret keeps "
        "signing beside the new one until `previous_secret_expires_at` (24 hours by default): each "
        "delivery meanwhile carries two `v1,` signatures, so a receiver can switch at its own pace. "
        "Rotating again during that time drops the secret before.",
        request=None,
        responses={200: EndpointSecretOutput},
        examples=[
            OpenApiExample(
                "Rotated",
                response_only=True,
                status_codes=["200"],
                value={
                    "id": 1,
                    "secret": "whsec_Q2hh…",
                    "previous_secret_expires_at": "2025-01-02T12:00:00Z",
                },
            )
        ],
    )
    def post(self, request, endpoint_id: int):
        endpoint = services.endpoint_secret_rotate(
            endpoint=_endpoint_or_404(request, endpoint_id), **actor_of(request)
        )
        return Response(EndpointSecretOutput(endpoint).data)


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
        return Delivery.objects.filter(endpoint=_endpoint_or_404(self.request, self.kwargs["endpoint_id"]))

    @extend_schema(operation_id="notification_endpoints_deliveries", summary="An endpoint's deliveries")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class EventFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id", help_text="Customer id.")
    type = django_filters.CharFilter()
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

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
