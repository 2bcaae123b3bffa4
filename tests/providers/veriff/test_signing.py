"""Veriff signature schemes against the seed's examples and the derived vectors
(providers/veriff/README.md, "Authentication and signatures")."""

import pytest

from providers.veriff import signing
from tests.webhooks import seed_vectors as sv


@pytest.mark.parametrize(
    ("payload", "secret", "scheme", "expected"),
    [
        (sv.DECISION_9103_BODY, sv.DECISION_9103_SECRET, "legacy", sv.DECISION_9103_SIGNATURE),
        (sv.DECISION_9103_BODY, sv.DECISION_9103_SECRET, "hmac", sv.DECISION_9103_HMAC),
        (sv.LISTENER_9001_BODY, sv.LISTENER_9001_SECRET, "legacy", sv.LISTENER_9001_SIGNATURE),
        (sv.LISTENER_9001_BODY, sv.LISTENER_9001_SECRET, "hmac", sv.LISTENER_9001_HMAC),
        # GET requests sign the id in the path.
        (
            b"aea9ba6d-1b47-47fc-a4fc-f72b6d3584a7",
            "Your-API-Secret",
            "legacy",
            "4e1b56ce5c55a47ce31d888f4ba867a0102289157d7003c01e7bf20a063cc638",
        ),
        (
            b"aea9ba6d-1b47-47fc-a4fc-f72b6d3584a7",
            "Your-API-Secret",
            "hmac",
            "9f53879ef303d068cb069963d304fb7aff146fcae9eb635cf9a6cff3c24abccf",
        ),
    ],
)
def test_signature_vectors(payload, secret, scheme, expected):
    assert signing.signature(payload, secret, scheme) == expected
    header = signing.HEADER[scheme]
    assert signing.verify(payload, {header: expected.upper()}, secret, scheme)
    assert not signing.verify(payload + b" ", {header: expected}, secret, scheme)


def test_seed_response_validation_example():
    # Seed, "Manual Validation": Veriff signs its responses the same way.
    assert signing.signature(sv.RESPONSE_BODY, "Your-API-Secret", "legacy") == sv.RESPONSE_SIGNATURE
    assert signing.signature(sv.RESPONSE_BODY, "Your-API-Secret", "hmac") == sv.RESPONSE_HMAC


def test_unknown_scheme_is_an_error():
    with pytest.raises(ValueError):
        signing.signature(b"x", "s", "md5")
