"""A local fake of Veriff's API (README, "The sandbox"): sessions, a hosted end-user page, media, signed
webhooks to the app, and control endpoints for tests. It is "Veriff", a separate system: it talks
to the rest of KYC Desk only over HTTP and never imports the `kyc` or `webhooks` apps.
"""
