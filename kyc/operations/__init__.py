"""Operations: keeping work moving and data lawful when things go wrong or grow old.

A layer of their own, above kyc.services and below the entry points (views, API, admin, commands,
beat tasks: kyc/beat.py): an operation may use several apps (the webhooks store, the API's
idempotency records, the notifications) besides kyc's services; nothing below imports an operation
(the contracts in pyproject.toml, `[tool.importlinter]`).

- reconcile.py: the periodic sweep that recovers missed webhooks and lost tasks;
- expiry.py: sessions past the provider's lifetime, closed by the sweep;
- retention.py: the periodic purge of evidence past its retention period;
- erasure.py: a customer's GDPR erasure.

Their shared step, blanking personal data in stored records, is a service
(kyc/services/redaction.py): the processing of a late webhook about an erased customer uses it too.
"""
