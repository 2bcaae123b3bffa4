"""The client's address, by one rule for every throttle: the staff login's (django-axes, through
AXES_CLIENT_IP_CALLABLE), the API's (DRF's NUM_PROXIES) and the webhooks' rejected deliveries.

KYC_TRUSTED_PROXY_COUNT says how many proxies of our own stand in front of the app, each appending
the address it received from to X-Forwarded-For. With 0 (the default) the header is ignored: a
client sets it to whatever it likes. With N, the N-th entry from the right is the client, as DRF
reads it, so the three throttles always agree. Written here because django-axes reads a proxy count
only through django-ipware, which would be a dependency for these few lines.
"""

from django.conf import settings


def client_address(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.KYC_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if count <= 0 or not forwarded:
        return remote
    entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
    if not entries:
        return remote
    return entries[-min(count, len(entries))]
