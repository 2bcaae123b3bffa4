"""A local fake of Solaris's API (../README.md, "Sandbox"): the OAuth2 token endpoint, persons,
identifications with an IDnow-like hosted page, documents, webhook subscriptions with signed
deliveries, fault injection, and control endpoints for scripts and tests. It is "Solaris", a
separate system: it talks to the rest of KYC Desk only over HTTP and never imports the `kyc` or
`webhooks` apps.
"""
