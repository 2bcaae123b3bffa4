from django.conf import settings
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated

from api.errors import api_not_found
from api.views import customers, docs, erasure, notifications, reviews, staff, verifications

app_name = "api"

# The schema and docs need credentials like everything else, unless the deployment opens them.
# (No ReDoc page: drf-spectacular's template for it loads web fonts from Google.)
docs_permissions = [AllowAny] if settings.KYC_API_DOCS_PUBLIC else [IsAuthenticated]

v1 = [
    path("customers/", customers.CustomerListCreateApi.as_view(), name="customers"),
    path("customers/<int:customer_id>/", customers.CustomerDetailApi.as_view(), name="customer"),
    path(
        "customers/by-external-ref/<str:external_ref>/",
        customers.CustomerByExternalRefApi.as_view(),
        name="customer-by-external-ref",
    ),
    path(
        "customers/<int:customer_id>/kyc-status/",
        customers.CustomerKycStatusApi.as_view(),
        name="customer-kyc-status",
    ),
    path(
        "customers/<int:customer_id>/erasure/",
        erasure.CustomerErasureApi.as_view(),
        name="customer-erasure",
    ),
    path(
        "customers/<int:customer_id>/verifications/",
        verifications.CustomerVerificationsApi.as_view(),
        name="customer-verifications",
    ),
    path(
        "customers/<int:customer_id>/verification-links/",
        verifications.VerificationLinkCreateApi.as_view(),
        name="customer-verification-links",
    ),
    path("verifications/", verifications.VerificationListApi.as_view(), name="verifications"),
    path(
        "verifications/<uuid:verification_id>/",
        verifications.VerificationDetailApi.as_view(),
        name="verification",
    ),
    path(
        "notification-endpoints/",
        notifications.EndpointListCreateApi.as_view(),
        name="notification-endpoints",
    ),
    path(
        "notification-endpoints/<int:endpoint_id>/",
        notifications.EndpointDetailApi.as_view(),
        name="notification-endpoint",
    ),
    path(
        "notification-endpoints/<int:endpoint_id>/rotate-secret/",
        notifications.EndpointSecretRotateApi.as_view(),
        name="notification-endpoint-rotate-secret",
    ),
    path(
        "notification-endpoints/<int:endpoint_id>/deliveries/",
        notifications.EndpointDeliveriesApi.as_view(),
        name="notification-endpoint-deliveries",
    ),
    path("events/", notifications.EventListApi.as_view(), name="events"),
    path("events/<uuid:event_id>/", notifications.EventDetailApi.as_view(), name="event"),
    path("staff/review-queue/", staff.ReviewQueueApi.as_view(), name="staff-review-queue"),
    path("staff/cases/", staff.CaseListApi.as_view(), name="staff-cases"),
    path("staff/cases/<uuid:case_id>/", staff.CaseDetailApi.as_view(), name="staff-case"),
    path(
        "staff/cases/<uuid:case_id>/reviews/", reviews.ReviewProposeApi.as_view(), name="staff-case-reviews"
    ),
    path(
        "staff/reviews/<int:review_id>/confirm/",
        reviews.ReviewConfirmApi.as_view(),
        name="staff-review-confirm",
    ),
    path(
        "staff/reviews/<int:review_id>/reject/", reviews.ReviewRejectApi.as_view(), name="staff-review-reject"
    ),
    path(
        "staff/reviews/<int:review_id>/withdraw/",
        reviews.ReviewWithdrawApi.as_view(),
        name="staff-review-withdraw",
    ),
    path("staff/review-reasons/", reviews.ReviewReasonListApi.as_view(), name="staff-review-reasons"),
    path("staff/media/<int:media_id>/", staff.MediaDetailApi.as_view(), name="staff-media"),
    path("staff/media/<int:media_id>/content/", staff.MediaContentApi.as_view(), name="staff-media-content"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(permission_classes=docs_permissions), name="schema"),
    # The split view serves its init script as a file (?script): nothing inline, CSP-friendly.
    # The page is open (it tells how to get in); the schema it loads is not, unless made public.
    path("docs/", docs.ApiDocsView.as_view(), name="docs"),
    # Anything else under /api/ is a JSON 404, not the site's HTML page.
    re_path(r"^.*$", api_not_found),
]
