import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
site = get_wsgi_application()  # sets Django up

from webhooks.wsgi import PathDispatcher, WebhookHandler  # noqa: E402  (needs Django set up)

# /webhooks/ is served with a short middleware stack (webhooks/wsgi.py), the rest with the site's.
application = PathDispatcher(site, WebhookHandler())
