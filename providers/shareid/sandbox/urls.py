"""Mounted at /sandbox/shareid/ by config/urls.py when KYC_SANDBOX_ENABLED (providers/shareid/README.md,
"Sandbox"):

- flow/…      ShareID's API ({API_URL}): the short WSGI stack serves it (credentials.SERVER_PATHS)
- sdk/…       the SDK page a person plays the end user on (the site's full stack: CSRF, CSP)
- control/…   sandbox-only endpoints for scripts and tests
"""

from django.urls import path

from .views import api, control, hosted

app_name = "shareid_sandbox"

urlpatterns = [
    path("flow/onboarding/auth/business", api.onboarding_start, name="onboarding-start"),
    # The alias one of ShareID's public examples writes (its parameter block says auth/business).
    path("flow/onboarding/auth_business", api.onboarding_start, name="onboarding-start-alias"),
    path("flow/onboarding/fetch/auth/business", api.onboarding_fetch_token, name="onboarding-fetch-token"),
    path("flow/onboarding/fetch", api.onboarding_fetch, name="onboarding-fetch"),
    path("flow/authenticate/auth/business", api.authenticate_start, name="authenticate-start"),
    path(
        "flow/authenticate/fetch/auth/business", api.authenticate_fetch_token, name="authenticate-fetch-token"
    ),
    path("flow/authenticate/fetch", api.authenticate_fetch, name="authenticate-fetch"),
    path("sdk/", hosted.sdk, name="sdk"),
    path("sdk/finish", hosted.sdk_finish, name="sdk-finish"),
    path(
        "control/applicants/<str:applicant_id>/complete", control.applicant_complete, name="control-complete"
    ),
    path("control/applicants/<str:applicant_id>", control.applicant_detail, name="control-applicant"),
    path("control/flows/<str:flow_id>/complete", control.flow_complete, name="control-flow-complete"),
    path("control/flows/<str:flow_id>", control.flow_detail, name="control-flow"),
    path("control/callbacks", control.callback_log, name="control-callbacks"),
    path("control/callbacks/send-due", control.callbacks_send_due, name="control-send-due"),
    path("control/stats", control.stats, name="control-stats"),
    path("control/stats/reset", control.stats_reset, name="control-stats-reset"),
    path("control/tokens/expire", control.tokens_expire, name="control-tokens-expire"),
    path("control/faults", control.fault, name="control-faults"),
]
