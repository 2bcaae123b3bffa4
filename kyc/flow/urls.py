from django.urls import path

from kyc.flow import views

app_name = "flow"
urlpatterns = [
    path("start/<str:token>/", views.start, name="start"),
    path("s/<uuid:reference>/", views.session_page, name="session"),
    path("s/<uuid:reference>/retry/", views.retry, name="retry"),
    path("s/<uuid:reference>/launch/", views.launch, name="launch"),
    path("s/<uuid:reference>/restart/", views.restart, name="restart"),
    path("s/<uuid:reference>/status/", views.status_json, name="status"),
    path("return/<uuid:reference>/", views.return_page, name="return"),
]
