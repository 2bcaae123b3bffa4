"""The two URLs a provider is given for a session: the browser's return page, and the
notification URL it may POST to, server to server, with this session's secret token."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from kyc.models import VerificationSession
from webhooks.tokens import notification_token_make


def session_return_url(session: VerificationSession) -> str:
    """Where the browser lands after the hosted flow (a GET: kyc/flow/views.py::return_page)."""
    return settings.KYC_PUBLIC_URL + reverse("flow:return", args=[session.reference])


def session_notification(session: VerificationSession) -> tuple[str, str]:
    """The notification URL and the token it carries: /webhooks/<provider>/?token=<token>, the
    token being this session's alone (webhooks/tokens.py)."""
    token = notification_token_make(provider=session.provider, reference=str(session.reference))
    path = reverse("webhooks:receive-default", args=[session.provider])
    return f"{settings.KYC_PUBLIC_URL}{path}?{urlencode({'token': token})}", token
