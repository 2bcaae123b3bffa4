"""A full flow's logs at DEBUG (the app under gunicorn, the worker, the sandbox in the same
server) contain none of the customer's personal data: names, email, date of birth, document
number, nor a bearer link (start link, session reference, hosted-flow token) or a search term in
a logged URL. Tasks take ids; errors and warnings name types, not values. A Solaris flow's logs
carry no OAuth2 token, client secret or webhook secret either: the token travels only in the
Authorization header, never in a URL or a log line."""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
import sys

import pytest
import requests

from kyc.links import start_token
from kyc.models import VerificationSession
from kyc.services import customers
from kyc.services import sessions as kyc_sessions
from providers.solaris.sandbox import credentials as solaris_sandbox
from providers.solaris.sandbox.models import AccessToken, Subscription
from tests.support.servers import PROJECT_ROOT, wait_until
from tests.support.veriff import EndUser, csrf_token, media_stored, provider_media, session_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_full_flow_at_debug_logs_no_personal_data(start_stack):
    stack = start_stack(LOG_LEVEL="DEBUG", WORKER_LOG_LEVEL="debug")
    customer = customers.customer_create(
        external_ref="LOG-1",
        first_name="Zephyrine",
        last_name="Quillfeather",
        email="zephyrine.quill@example.net",
        date_of_birth=dt.date(1979, 8, 23),
        country="EE",
    )
    with requests.Session() as http:
        end_user = EndUser(http)
        session = end_user.start(customer.pk)
        hosted = end_user.wait_for_hosted_url(session)
        end_user.choose(hosted, "approve")
    session = session_in(session.pk, "approved")
    media_stored(session, {m.provider_media_id for m in provider_media(session.provider_session_id)})
    # Staff look at the case, and a webhook with a bad signature is refused: both log too.
    requests.post(f"{stack.base_url}/webhooks/veriff/decision/", data=b'{"x": "Zephyrine"}', timeout=10)
    # A back-office search by surname, and a start link that no longer works: the access log and
    # Django's "Not Found" name their URLs (issue 11, item 9).
    requests.get(f"{stack.base_url}/admin/kyc/customer/?q=Quillfeather", allow_redirects=False, timeout=10)
    token = start_token(customer.pk)
    forged = token[:-2] + ("yy" if token.endswith("xx") else "xx")
    requests.get(f"{stack.base_url}/verify/start/{forged}/", timeout=10)
    stack.wait_idle()

    decision = session.decisions.get()
    personal = {
        "Zephyrine",
        "Quillfeather",
        "zephyrine.quill@example.net",
        "1979-08-23",
        decision.document["number"],
    }
    # Bearer links: whoever holds one can act as the end user.
    # (A start link's first part, its payload, is the same in every link for this customer.)
    bearer = {start_token(customer.pk).split(":")[0], str(session.reference), hosted.rsplit("/v/", 1)[-1]}
    logs = stack.logs()
    assert "DEBUG" in logs and len(logs) > 10_000  # the logs really are at DEBUG, and full
    assert "GET /admin/kyc/customer/?q=[redacted]" in logs  # the lines are there, redacted
    leaks = {value: logs.lower().count(value.lower()) for value in personal if value.lower() in logs.lower()}
    assert leaks == {}
    assert {value for value in bearer if value in logs} == set()


def test_a_solaris_flow_at_debug_logs_no_personal_data_nor_token_nor_secret(start_stack):
    stack = start_stack(LOG_LEVEL="DEBUG", WORKER_LOG_LEVEL="debug")
    # The deploy step: the app's webhook subscriptions at the sandbox, their secrets sealed.
    subprocess.run(
        [sys.executable, "manage.py", "solaris_webhooks", "sync"],
        cwd=PROJECT_ROOT,
        env=stack.env(),
        check=True,
        capture_output=True,
        timeout=60,
    )
    customer = customers.customer_create(
        external_ref="LOG-S1",
        first_name="Ottilie",
        last_name="Brennesselgrund",
        email="ottilie.brennessel@example.net",
        date_of_birth=dt.date(1983, 2, 17),
        country="DE",
    )
    session = kyc_sessions.verification_start(customer=customer, provider="solaris")
    with requests.Session() as http:
        end_user = EndUser(http)
        hosted = end_user.wait_for_hosted_url(session)
        page = http.get(hosted, timeout=15)
        assert page.status_code == 200, page.text[:500]
        # The end user "finishes the video call", identified.
        data = {"csrfmiddlewaretoken": csrf_token(page.text), "outcome": "successful"}
        assert http.post(hosted, data=data, timeout=15).status_code == 200
    session = session_in(session.pk, "approved")
    wait_until(
        lambda: VerificationSession.objects.get(pk=session.pk).media.filter(state="stored").count() >= 3,
        timeout=45,
        message="the identification's documents stored",
    )
    # Every token expires mid-flow: the next call gets 401, one refresh, the call replayed.
    control = f"{stack.base_url}/sandbox/solaris/control"
    requests.post(f"{control}/tokens/expire", json={}, timeout=10).raise_for_status()
    person = session.customer.provider_accounts.get(provider="solaris").provider_person_id
    body = {"screening_progress": "POTENTIAL_MATCH"}
    requests.post(f"{control}/persons/{person}/changed", json=body, timeout=10).raise_for_status()
    wait_until(
        lambda: customer.screening_results.exists(), timeout=30, message="the person's screening read again"
    )
    # A delivery with a bad signature is refused: that logs too.
    requests.post(
        f"{stack.base_url}/webhooks/solaris/",
        data=b'{"id": "Brennesselgrund"}',
        headers={"Solaris-Webhook-Signature": "sha256=00", "Solaris-Webhook-Event-Type": "IDENTIFICATION"},
        timeout=10,
    )
    stack.wait_idle()

    personal = {"Ottilie", "Brennesselgrund", "ottilie.brennessel@example.net", "1983-02-17"}
    basic = base64.b64encode(f"{solaris_sandbox.CLIENT_ID}:{solaris_sandbox.CLIENT_SECRET}".encode()).decode()
    tokens = set(AccessToken.objects.values_list("token", flat=True))
    assert len(tokens) >= 2  # the first token, and the one after the expiry
    secrets_ = {solaris_sandbox.CLIENT_SECRET, basic, *Subscription.objects.values_list("secret", flat=True)}
    logs = stack.logs()
    assert "DEBUG" in logs and "/webhooks/solaris/" in logs  # at DEBUG, and the deliveries are there
    lowered = logs.lower()
    assert {value for value in personal if value.lower() in lowered} == set()
    assert {token for token in tokens if token in logs} == set()
    assert {secret for secret in secrets_ if secret in logs} == set()
    assert "access_token" not in lowered  # not even the token endpoint's answer
