"""Mounted at /sandbox/veriff/ by config/urls.py when KYC_SANDBOX_ENABLED.

- v1/…      Veriff's API (README, "Endpoints"): the app's VERIFF_API_URL points here in development
- v/<token> the hosted end-user flow (the session `url`)
- control/… sandbox-only endpoints for scripts and tests
"""

from django.urls import path

from .views import api, control, hosted

app_name = "veriff_sandbox"

urlpatterns = [
    path("v1/sessions", api.create_session, name="sessions"),
    # The seed's own samples POST to /v1/sessions/ with a trailing slash.
    path("v1/sessions/", api.create_session),
    path("v1/sessions/<str:session_id>", api.update_session, name="session"),
    path("v1/sessions/<str:session_id>/media", api.session_media, name="session-media"),
    path("v1/sessions/<str:session_id>/decision", api.session_decision, name="session-decision"),
    path("v1/sessions/<str:session_id>/attempts", api.session_attempts, name="session-attempts"),
    path("v1/sessions/<str:session_id>/person", api.session_person, name="session-person"),
    path("v1/sessions/<str:session_id>/timestamps", api.session_timestamps, name="session-timestamps"),
    path("v1/attempts/<str:attempt_id>/media", api.attempt_media, name="attempt-media"),
    path("v1/media/<str:media_id>", api.media_download, name="media-download"),
    path("v1/timestamps/<str:timestamp_id>", api.timestamp_detail, name="timestamp"),
    path("v/<str:token>", hosted.hosted_flow, name="hosted"),
    path("control/sessions/<str:session_id>/decision", control.force_decision, name="control-decision"),
    path("control/sessions/<str:session_id>/expire", control.expire_session, name="control-expire"),
    path("control/sessions/<str:session_id>/watchlist", control.send_watchlist, name="control-watchlist"),
    path(
        "control/sessions/<str:session_id>/media/large-video",
        control.attach_large_video,
        name="control-large-video",
    ),
    path("control/sweep", control.sweep, name="control-sweep"),
    path("control/webhooks", control.webhook_log, name="control-webhooks"),
    path("control/webhooks/<int:delivery_id>/redeliver", control.redeliver, name="control-redeliver"),
    path("control/faults", control.fault, name="control-faults"),
]
