from django.urls import path

from webhooks import views

app_name = "webhooks"
urlpatterns = [
    # Veriff: /webhooks/veriff/decision/ and /webhooks/veriff/events/
    path("<slug:provider>/<slug:kind>/", views.receive, name="receive"),
    # Providers with a single delivery URL (kind ""): /webhooks/solaris/, /webhooks/shareid/?token=…,
    # /webhooks/signicat/
    path("<slug:provider>/", views.receive, name="receive-default"),
]
