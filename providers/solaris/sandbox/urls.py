"""Mounted at /sandbox/solaris/ by config/urls.py when KYC_SANDBOX_ENABLED.

- oauth2/token      Solaris's auth host: the app's Solaris auth URL points here in development
- v1/…              Solaris's API host: likewise its API URL
- idnow/…           the IDnow-like hosted page (an identification's `url`)
- control/…         sandbox-only endpoints for scripts and tests
"""

from django.urls import path

from .auth import token_endpoint
from .views import api, control, hosted

app_name = "solaris_sandbox"

urlpatterns = [
    path("oauth2/token", token_endpoint, name="token"),
    path("v1/persons", api.persons, name="persons"),
    path("v1/persons/<str:person_id>", api.person, name="person"),
    path("v1/persons/<str:person_id>/identifications", api.identifications, name="identifications"),
    path(
        "v1/persons/<str:person_id>/identifications/<str:identification_id>",
        api.identification,
        name="identification",
    ),
    path(
        "v1/persons/<str:person_id>/identifications/<str:identification_id>/request",
        api.identification_request,
        name="identification-request",
    ),
    path(
        "v1/persons/<str:person_id>/identifications/<str:identification_id>/documents",
        api.identification_documents,
        name="identification-documents",
    ),
    path("v1/persons/<str:person_id>/documents", api.person_documents, name="person-documents"),
    path(
        "v1/persons/<str:person_id>/documents/<str:document_id>/file", api.document_file, name="document-file"
    ),
    path("v1/webhooks", api.webhooks, name="webhooks"),
    path("v1/webhooks/<str:subscription_id>", api.webhook, name="webhook"),
    path("idnow/identifications/<str:identification_id>", hosted.idnow, name="idnow"),
    path(
        "control/identifications/<str:identification_id>/outcome",
        control.identification_outcome,
        name="control-outcome",
    ),
    path(
        "control/identifications/<str:identification_id>",
        control.identification_detail,
        name="control-identification",
    ),
    path("control/persons/<str:person_id>/changed", control.person_changed, name="control-person-changed"),
    path("control/persons/<str:person_id>/deleted", control.person_deleted, name="control-person-deleted"),
    path("control/deliveries", control.deliveries, name="control-deliveries"),
    path("control/deliveries/send-due", control.deliveries_send_due, name="control-send-due"),
    path("control/tokens", control.tokens, name="control-tokens"),
    path("control/tokens/expire", control.tokens_expire, name="control-tokens-expire"),
    path("control/faults", control.fault, name="control-faults"),
]
