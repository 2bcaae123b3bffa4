"""The sandbox's own OAuth2 client, the development default of the app's Solaris client id and
secret. They are published in this repository, so they open nothing but the sandbox.

No imports: the settings module may read this file before Django is set up.
"""

CLIENT_ID = "kycdesk-sandbox"
CLIENT_SECRET = "solaris-sandbox-only-4f2b9c7e1d0a8e63"
# Where the sandbox is mounted (config/urls.py), on whichever host serves it. Solaris has two
# hosts (auth.… for /oauth2/token, api.… for /v1/…); the sandbox serves both paths under one
# prefix, so the auth base URL and the API base URL are the same.
BASE_PATH = "/sandbox/solaris"
# The sandbox's paths that are Solaris's server-to-server API (the token endpoint of its auth host,
# the /v1/ calls of its API host, both made by our worker with a token): served by the short WSGI
# stack, as Solaris's own hosts are servers of their own (KYC_SANDBOX_SERVER_PATHS, webhooks/wsgi.py).
SERVER_PATHS = (BASE_PATH + "/oauth2/", BASE_PATH + "/v1/")
