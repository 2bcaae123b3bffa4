"""Staff work on cases: final decisions with four-eyes (decisions), assignment, case actions
(contact the customer, start again, fetch the evidence again), and the policy that decides which
cases need a human. Services here follow kyc.services' rules: keyword-only, atomic, audited, and
they check the actor's permissions themselves, so every caller (admin, API, command) is held to
the same rules as the buttons."""
