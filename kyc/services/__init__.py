"""Every write to the KYC domain goes through here (`<entity>_<action>`, keyword-only, atomic).
Views, admin actions, API endpoints and tasks call these and nothing else; reads are in
kyc/selectors.py. One module per subject:

- customers: a customer's profile and derived KYC status;
- sessions: starting a verification, resuming it, asking the provider again;
- provider_sessions: the provider's side of a session (created there, or its error);
- transitions: the one writer of a session's status (`session_transition`);
- updates: a provider's fact (event, decision) applied to its session;
- attempts: the attempts inside a session, as the provider's facts name them;
- media: the provider's media listing recorded;
- parking: retry bookkeeping and parking of automated work (written by the tasks);
- retries: automated work tried again on request (the end user, staff);
- redaction: personal data blanked in stored records (retention, erasure, late webhooks);
- reviews: staff final decisions with four-eyes; assignment: who works a case; case_actions:
  contacting the customer, starting again, fetching the evidence again;
- four_eyes: the rule of a second person (permissions, not one's own proposal), for reviews
  and screening;
- screening: PEP / sanctions results recorded from a provider, resolved by staff;
- inbound: the processor of the webhooks store's events (settings.WEBHOOKS_EVENT_PROCESSOR).

The package exports nothing itself: callers import the module of the subject they need.
"""
