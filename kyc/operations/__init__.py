"""Operations: keeping work moving and data lawful when things go wrong or grow old.

- work.py: retry bookkeeping (backoff made visible) and parking for a human;
- reconcile.py: the periodic sweep that recovers missed webhooks and lost tasks;
- retention.py: the periodic purge of evidence past its retention period;
- erasure.py: a customer's GDPR erasure.
"""
