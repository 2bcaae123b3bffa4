"""The signature recipe we document is the one that verifies what we send: the test runs the
documented code itself (api/docs/description.md, shown in /api/docs/, and the README)."""

import json
import re
import time
from pathlib import Path

import pytest

from kyc import services
from notifications.services import endpoint_create

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def documented_recipe(path: Path):
    text = path.read_text()
    code = re.search(r"```python\n(.*?def verify_kyc_signature.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # the documentation's own code
    return namespace["verify_kyc_signature"]


@pytest.mark.parametrize("doc", ["api/docs/description.md", "README.md"])
def test_a_delivery_verifies_with_the_documented_recipe(receiver, customer, doc):
    verify = documented_recipe(ROOT / doc)
    r = receiver()
    endpoint = endpoint_create(url=r.url)
    services.verification_start_or_resume  # noqa: B018 (the hook is exercised through a status change)
    from kyc.models import VerificationSession

    VerificationSession.objects.create(customer=customer, provider="veriff")
    services.customer_refresh_kyc_status(customer=customer)
    [request] = r.requests
    header = request["headers"]["KYC-Signature"]
    assert verify(endpoint.secret, header, request["body"]) is True
    # Any change to the body, the timestamp or the secret breaks it.
    assert verify(endpoint.secret, header, request["body"] + b" ") is False
    assert verify("whsec_other", header, request["body"]) is False
    timestamp = int(re.search(r"t=(\d+)", header).group(1))
    shifted = header.replace(f"t={timestamp}", f"t={timestamp + 1}")
    assert verify(endpoint.secret, shifted, request["body"]) is False
    assert json.loads(request["body"])["data"]["kyc_status"] == "in_progress"


def test_the_recipe_refuses_an_old_timestamp():
    from notifications.signing import signature_header

    verify = documented_recipe(ROOT / "api/docs/description.md")
    body = b'{"id": "x"}'
    old = int(time.time()) - 3600
    assert verify("whsec_s", signature_header("whsec_s", old, body), body) is False
    assert verify("whsec_s", signature_header("whsec_s", int(time.time()), body), body) is True
