"""The sandbox's own integration credentials, the development default of VERIFF_API_KEY and
VERIFF_API_SECRET (config/settings.py). They are published in this repository, so they open
nothing but the sandbox, and a production deployment refuses them
(VeriffProvider.configuration_problems).

No imports: the settings module reads this file before Django is set up.
"""

API_KEY = "5f0c9a49-8a7e-4d69-9d1d-1c6b7e0a3c11"
API_SECRET = "0d9c2f6e-sandbox-only-7b41-a3e5c2d8f9b0"
# Where the sandbox's copy of Veriff's API is mounted (config/urls.py), on whichever host serves it.
API_PATH = "/sandbox/veriff/v1"
# The sandbox's paths that are Veriff's server-to-server API (the worker's listing and download
# calls, authenticated by signature): served by the short WSGI stack, as Veriff's own API is by a
# server of its own (KYC_SANDBOX_SERVER_PATHS, webhooks/wsgi.py).
SERVER_PATHS = (API_PATH + "/",)
