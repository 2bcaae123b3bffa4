"""The sandbox's own business credentials, the development default of SHAREID_BUSINESS_HASH and
SHAREID_API_KEY (config/settings.py). They are published in this repository, so they open nothing
but the sandbox, and a production deployment refuses them (ShareIDProvider.configuration_problems).

No imports: the settings module reads this file before Django is set up.
"""

BUSINESS_HASH = "5a7d31c0"
API_KEY = "fl-sandbox-only-00c4e1f9a7b2"
# Where the sandbox is mounted (config/urls.py), on whichever host serves it: ShareID's {API_URL}.
BASE_PATH = "/sandbox/shareid"
# The sandbox's paths that are ShareID's server-to-server API (the onboarding start, the fetch
# tokens and fetches, all made by our worker): served by the short WSGI stack, as ShareID's own API
# is by a server of its own (KYC_SANDBOX_SERVER_PATHS, webhooks/wsgi.py).
SERVER_PATHS = (BASE_PATH + "/flow/",)
