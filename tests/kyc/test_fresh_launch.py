"""A launch made afresh at each visit (ShareID's single-use SDK token, which comes only with a new
onboarding and its own applicant id): the session takes the new provider id, audited, and the flow
never sends the end user twice to a spent token. Through the real views, with the pull fake
(tests/providers/fakes.py)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from rest_framework.test import APIClient

from api.services import api_key_create
from kyc import status as st
from kyc.models import Attempt, AuditEvent, VerificationSession
from kyc.services import provider_sessions, sessions
from kyc.services.launch import session_provider_session_replace
from kyc.services.updates import session_apply_update
from tests.providers import fakes
from webhooks.tokens import notification_token_reference

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fakes(settings):
    fakes.use_providers(settings, fakes.FAKES)


def _created(customer) -> VerificationSession:
    session = sessions.verification_start(customer=customer, provider="pullfake", actor_label="test")
    return provider_sessions.session_create_at_provider(session_id=session.pk)


def _replacements(session) -> list[tuple[str, str]]:
    events = AuditEvent.objects.filter(session=session, action="session.provider_session_replaced")
    return [(e.before["provider_session_id"], e.after["provider_session_id"]) for e in events.order_by("pk")]


def test_each_visit_launches_with_the_sessions_request_and_takes_the_new_provider_id(client, customer):
    session = _created(customer)
    first_id = session.provider_session_id
    page = f"/verify/s/{session.reference}/"

    redirects = [client.get(page)["Location"] for _ in range(2)]

    assert redirects == ["https://pull.example/sdk?token=t1", "https://pull.example/sdk?token=t2"]
    request = fakes.LAUNCH_REQUESTS[0]
    assert request.reference == str(session.reference) and request.return_url == fakes.CREATED[0].return_url
    token = parse_qs(urlsplit(request.notification_url).query)["token"][0]
    assert token == request.notification_token
    assert notification_token_reference(provider="pullfake", token=token) == str(session.reference)
    # Each launch asked from the id the session had then, and left the new one in its place.
    second_id = f"pullfake-{session.reference}-1"
    third_id = f"pullfake-{session.reference}-2"
    assert [first_id, second_id] == fakes.LAUNCHES
    session.refresh_from_db()
    assert session.provider_session_id == third_id
    assert session.hosted_url == ""  # a single-use launch is never stored
    assert _replacements(session) == [(first_id, second_id), (second_id, third_id)]
    # The provider's lifetime restarted, and the new applicant is polled.
    created = AuditEvent.objects.get(session=session, action="session.provider_session_created").created_at
    assert session.provider_created_at > created
    assert session.poll_next_at is not None
    assert session.status == st.CREATED and not session.attempts.exists()


def test_reloading_the_flow_page_after_the_token_was_used_still_works(client, customer):
    """The first token is spent by the provider's page: every later visit of the flow page, and
    of its launch page, gets a token of its own, never one it redirected to before."""
    session = _created(customer)
    spent = client.get(f"/verify/s/{session.reference}/")["Location"]
    later = [
        client.get(f"/verify/s/{session.reference}/"),
        client.get(f"/verify/s/{session.reference}/launch/"),
        client.get(f"/verify/s/{session.reference}/"),
    ]
    assert [r.status_code for r in later] == [302, 302, 302]
    urls = [spent, *(r["Location"] for r in later)]
    assert len(set(urls)) == 4 and all(u.startswith("https://pull.example/sdk?token=") for u in urls)


def test_the_waiting_pages_poll_spends_no_launch(client, customer):
    session = _created(customer)
    for _ in range(3):
        assert client.get(f"/verify/s/{session.reference}/status/").json()["ready"] is True
    assert fakes.LAUNCHES == []
    session.refresh_from_db()
    assert session.provider_session_id == f"pullfake-{session.reference}"


def test_after_a_resubmission_request_the_next_visit_is_the_new_attempt(client, customer):
    session = _created(customer)
    first_id = session.provider_session_id
    session_apply_update(
        provider="pullfake", update=fakes.decision(first_id, st.RESUBMISSION_REQUESTED, reason_code="blurry")
    )
    page = client.get(f"/verify/return/{session.reference}/")
    assert f'href="/verify/s/{session.reference}/launch/"'.encode() in page.content

    assert client.get(f"/verify/s/{session.reference}/launch/")["Location"].startswith(
        "https://pull.example/"
    )

    session.refresh_from_db()
    new_id = session.provider_session_id
    assert new_id != first_id and session.status == st.STARTED and session.started_at is not None
    first, second = session.attempts.order_by("created_at", "id")
    # The first onboarding named no attempt: its resubmission decision is bound to it now.
    assert (first.provider_attempt_id, first.status) == (first_id, st.RESUBMISSION_REQUESTED)
    assert first.decisions.get().status == st.RESUBMISSION_REQUESTED
    assert (second.provider_attempt_id, second.status) == (new_id, st.STARTED)
    # A second visit of the same attempt is no third attempt.
    client.get(f"/verify/s/{session.reference}/")
    assert Attempt.objects.filter(session=session).count() == 2

    session.refresh_from_db()
    session_apply_update(provider="pullfake", update=fakes.approval(session.provider_session_id))
    session.refresh_from_db()
    assert session.status == st.APPROVED
    assert (
        session.decisions.get(status=st.APPROVED).attempt.provider_attempt_id == session.provider_session_id
    )


def test_a_launch_for_a_session_closed_meanwhile_changes_nothing(customer):
    session = _created(customer)
    VerificationSession.objects.filter(pk=session.pk).update(status=st.APPROVED)
    assert not session_provider_session_replace(session_id=session.pk, provider_session_id="late")
    session.refresh_from_db()
    assert session.provider_session_id == f"pullfake-{session.reference}" and not _replacements(session)


def test_the_api_the_case_page_and_the_audit_show_the_current_id_and_keep_the_earlier(
    client, customer, analyst
):
    session = _created(customer)
    first_id = session.provider_session_id
    client.get(f"/verify/s/{session.reference}/")
    session.refresh_from_db()
    current = session.provider_session_id

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(name='t', scopes=['read'])[1]}")
    assert api.get(f"/api/v1/verifications/{session.reference}/").json()["provider_session_id"] == current
    client.force_login(analyst)
    case = client.get(f"/admin/kyc/case/{session.pk}/change/").content.decode()
    assert current in case
    trail = json.dumps([[e.before, e.after] for e in AuditEvent.objects.filter(session=session)])
    assert first_id in trail and current in trail
