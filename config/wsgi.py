import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
site = get_wsgi_application()  # sets Django up

from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from providers.registry import configuration_refusals  # noqa: E402  (needs Django set up)
from webhooks.fastpath import WebhookHandler  # noqa: E402  (needs Django set up)
from webhooks.wsgi import PathDispatcher  # noqa: E402

# gunicorn runs no system checks: a provider on its sandbox or without credentials (kyc.E001)
# stops the server here, before it answers anyone, instead of at its first webhook.
if refusals := configuration_refusals():
    raise ImproperlyConfigured(" ".join(refusals.values()))

# /webhooks/ is served with a short middleware stack (webhooks/wsgi.py), the rest with the site's.
application = PathDispatcher(site, WebhookHandler())
