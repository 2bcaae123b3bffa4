"""Test vectors copied byte for byte from the Veriff seed (providers/veriff/README.md, "Sources").

"Webhook /decision (POST)": the 9103 decision example, X-AUTH-CLIENT 8e4f7cd8-…, secret 3c184872-…
"Step 2 - Post some data to webhook listener": the 9001 example, X-AUTH-CLIENT Your-API-Key,
secret Your-API-Secret. Both use the legacy X-SIGNATURE = sha256(body + secret).
"""

DECISION_9103_BODY = b'{"status":"success","verification":{"id":"a4c0a230-859a-4861-b99b-ac39e4a05bfd","status":"resubmission_requested","code":9103,"reason":"Photos are not from the same document.","acceptanceTime":"2017-09-26T12:27:55.000Z","decisionTime":"2017-09-26T12:34:21.000Z","person":{"firstName":"Morton","lastName":"Stracke","idNumber":"48002020011"},"document":{"number":"AA0052283","type":"ID_CARD","validFrom": "2017-02-27", "validUntil": "2022-02-27"},"comments":[{"type": "General Comment", "comment": "Person refuses to take off hat.", "timestamp": "2017-10-10T13:18:44.009Z"}],"technicalData":{"ip":"124.153.46.66"}}}'
DECISION_9103_KEY = "8e4f7cd8-7a19-4d7d-971f-a076407ee03c"
DECISION_9103_SECRET = "3c184872-6929-43d9-91d5-9e68468b5aa1"
DECISION_9103_SIGNATURE = "cdffd99617c46e20d37d1db6e4f1bfefb929409e36a59122b6de25c6924d3c65"
# The same body signed with the current scheme (providers/veriff/README.md, "Authentication and signatures").
DECISION_9103_HMAC = "69a300ef054ef75d7bc7be49da4026c2ebf6bbb98d71f50b84e7e59e151ec9f8"
DECISION_9103_SESSION_ID = "a4c0a230-859a-4861-b99b-ac39e4a05bfd"

LISTENER_9001_BODY = b'{"status":"success","verification":{"id":"aea9ba6d-1b47-47fc-a4fc-f72b6d3584a7","code":9001,"person":{"gender":null,"idNumber":"123456789","lastName":"Toomas","firstName":"Tundmatu","citizenship":null,"dateOfBirth":null,"nationality":null,"yearOfBirth":null,"pepSanctionMatch":null},"reason":null,"status":"approved","comments":[],"document":{"type":"ID_CARD","number":"ee12334","country":"EE","validFrom":null,"validUntil":null},"highRisk":null,"reasonCode":null,"vendorData":"11111111","decisionTime":"2019-10-30T07:32:44.540Z","acceptanceTime":"2019-10-29T12:41:01.000Z","additionalVerifiedData":{}},"technicalData":{"ip":"95.153.29.169"}}'
LISTENER_9001_KEY = "Your-API-Key"
LISTENER_9001_SECRET = "Your-API-Secret"
LISTENER_9001_SIGNATURE = "cd0e28104516bc27b4506026d81d07e532b927440b84c4f01ac02d92a2b1419c"
LISTENER_9001_HMAC = "2f0e6fce7651a7f3eb13dd6f47129566494371bb56d6075ef08444ef1307eee5"
LISTENER_9001_SESSION_ID = "aea9ba6d-1b47-47fc-a4fc-f72b6d3584a7"

# "Manual Validation": a session-created response body, signed with Your-API-Secret.
RESPONSE_BODY = b'{"status":"success","verification":{"id":"d04fd8e7-80cd-4fb8-b235-cec89c5c6790","url":"https://magic.veriff.me/v/eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzZXNzaW9uX2lkIjoiZDA0ZmQ4ZTctODBjZC00ZmI4LWIyMzUtY2VjODljNWM2NzkwIiwiaWF0IjoxNTcyMjUyODgyfQ.wBEsEAeAzBQamc6acujZoJ4VQxuCsYfwdH8Xe-JI4Qw","vendorData":"11111111","host":"https://front.veriff.me","status":"created","sessionToken":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzZXNzaW9uX2lkIjoiZDA0ZmQ4ZTctODBjZC00ZmI4LWIyMzUtY2VjODljNWM2NzkwIiwiaWF0IjoxNTcyMjUyODgyfQ.wBEsEAeAzBQamc6acujZoJ4VQxuCsYfwdH8Xe-JI4Qw"}}'
RESPONSE_SIGNATURE = "253e28b027ca93d323d524d437b13ccc06730bd08709aac0194725b63e50b556"
RESPONSE_HMAC = "9e8d83a180f30249cc87df8c8e04e86680bc9b9eb1f7ecf4da2cd417ec4274bc"
