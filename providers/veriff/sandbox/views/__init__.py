"""The sandbox's views: the provider API (api.py), the hosted end-user page (hosted.py) and the
sandbox-only control endpoints (control.py)."""

from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address, reported back as the decision's technicalData.ip."""
    return request.META.get("REMOTE_ADDR") or None
