"""A full flow's logs at DEBUG (the app under gunicorn, the worker, the sandbox in the same
server) contain none of the customer's personal data: names, email, date of birth, document
number, nor a bearer link (start link, session reference, hosted-flow token) or a search term in
a logged URL. Tasks take ids; errors and warnings name types, not values."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from kyc.links import start_token
from kyc.services import customers
from tests.support.veriff import EndUser, media_stored, provider_media, session_in

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
