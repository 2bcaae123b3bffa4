"""Everyday case work around the decision: comments, claiming the next case, duplicate checks,
the SLA clock, and exports. Services here follow kyc.reviews' rules: keyword-only, atomic,
audited, and they check the actor's permission themselves."""
