"""The interactive API docs (Swagger UI, from drf-spectacular's sidecar: no CDN).

The page itself holds no description of the API: it is open to anyone, so that a developer who
is not signed in sees how to get in (a link to the sign-in, or an API key typed into the page)
instead of a bare 401. The schema it loads (/api/schema/) keeps its permissions; a key typed in is
sent with that request and with every "Try it out"."""

from __future__ import annotations

import contextlib

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import exceptions
from rest_framework.permissions import AllowAny

from api.schema import ApiKeyScheme


class ApiDocsView(SpectacularSwaggerSplitView):
    permission_classes = [AllowAny]
    url_name = "api:schema"
    template_name = "api/swagger_ui.html"

    def _get_schema_auth_names(self):
        # drf-spectacular's init script sends these schemes' credentials with the schema request.
        # It names none when SERVE_PUBLIC (the schema the same for everyone, which it is here);
        # the docs need the API key's, or a key typed in could not load a closed schema.
        return [] if settings.KYC_API_DOCS_PUBLIC else [ApiKeyScheme.name]

    def perform_authentication(self, request):
        # The page holds nothing to protect: credentials that do not open the API (a session
        # still waiting for its second factor, a revoked key) get what anyone gets, the sign-in
        # panel, not a bare 401.
        with contextlib.suppress(exceptions.APIException):
            request.user  # noqa: B018  (DRF authenticates on first access)

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if request.GET.get("script") is None:
            signed_in = getattr(request.user, "is_authenticated", False)  # None when nobody is (settings)
            needs_credentials = not settings.KYC_API_DOCS_PUBLIC and not signed_in
            response.data |= {
                "needs_credentials": needs_credentials,
                "login_url": f"{reverse('admin:login')}?next={request.path}",
                "schema_path": reverse("api:schema"),
                "key_scheme": ApiKeyScheme.name,
            }
        return response
