"""The rules of the review queue, read by kyc's services and by the queue's selectors: which cases
need a human (policy), which flags hold an approval (risk), and whether a customer's case is open
(queue_state). The staff's work on cases is in kyc.services: final decisions with four-eyes
(kyc/services/reviews.py), assignment (kyc/services/assignment.py) and case actions
(kyc/services/case_actions.py); they check the actor's permissions themselves, so every caller
(admin, API, command) is held to the same rules as the buttons."""
