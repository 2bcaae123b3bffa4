"""Coming back from a hosted flow launched afresh at each visit (ShareID's single-use SDK token):
back without a marker, the end user finished, and the session is submitted so that a reload of the
flow page shows the return page instead of replacing the applicant whose result is on its way;
back with `left`, nothing changes and the page offers to continue. Through the real views, with
the pull fake (tests/providers/fakes.py) and the scripted poller fake (tests/kyc/polling_fakes.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kyc import status as st
from kyc.models import AuditEvent, VerificationSession
from kyc.operations.polling import poll_due
from kyc.services import provider_sessions, sessions
from kyc.services.launch import session_returned_from_hosted_flow
from kyc.services.updates import session_apply_update
from tests.kyc import polling_fakes
from tests.kyc.polling_fakes import ANSWERS, FETCHES
from tests.providers import fakes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fakes(settings):
    fakes.use_providers(settings, {**fakes.FAKES, **polling_fakes.PROVIDERS})
    settings.KYC_POLL_LIFETIME_GRACE = 600
    polling_fakes.reset()
    yield
    polling_fakes.reset()


def _created(customer, provider: str = "pullfake") -> VerificationSession:
    session = sessions.verification_start(customer=customer, provider=provider, actor_label="test")
    return provider_sessions.session_create_at_provider(session_id=session.pk)


def _status_changes(session) -> list[tuple[str, str, str]]:
    events = AuditEvent.objects.filter(session=session, action="session.status_changed").order_by("pk")
    return [(e.before["status"], e.after["status"], e.actor_label) for e in events]


def test_back_from_the_sdk_the_session_is_submitted_and_a_reload_fetches_the_result_not_a_new_launch(
    client, customer
):
    session = _created(customer)
    client.get(f"/verify/s/{session.reference}/")  # the first visit: the SDK, with the first token
    session.refresh_from_db()
    applicant = session.provider_session_id
    launches = len(fakes.LAUNCHES)

    page = client.get(f"/verify/return/{session.reference}/")

    assert page.status_code == 200 and b'data-status="submitted"' in page.content
    assert b"We are checking your documents" in page.content
    session.refresh_from_db()
    assert session.status == st.SUBMITTED and session.submitted_at is not None
    assert _status_changes(session) == [(st.CREATED, st.SUBMITTED, "end-user")]
    # The reload: the return page again, no new onboarding over the finished one.
    for url in (f"/verify/s/{session.reference}/", f"/verify/s/{session.reference}/launch/"):
        assert client.get(url)["Location"] == f"/verify/return/{session.reference}/"
    assert len(fakes.LAUNCHES) == launches
    session.refresh_from_db()
    assert session.provider_session_id == applicant
    # The page's own refresh changes nothing more.
    client.get(f"/verify/return/{session.reference}/")
    assert len(_status_changes(session)) == 1
    # And the finished applicant's result, when it comes, decides the session.
    session_apply_update(provider="pullfake", update=fakes.approval(applicant))
    session.refresh_from_db()
    assert session.status == st.APPROVED


def test_back_from_a_new_attempt_after_a_resubmission_request_the_attempt_is_submitted(client, customer):
    session = _created(customer)
    session_apply_update(
        provider="pullfake",
        update=fakes.decision(session.provider_session_id, st.RESUBMISSION_REQUESTED, reason_code="blurry"),
    )
    client.get(f"/verify/s/{session.reference}/launch/")  # "Try again": a new onboarding
    session.refresh_from_db()
    assert session.status == st.STARTED

    client.get(f"/verify/return/{session.reference}/")

    session.refresh_from_db()
    assert session.status == st.SUBMITTED
    current = session.attempts.get(provider_attempt_id=session.provider_session_id)
    assert current.status == st.SUBMITTED
    assert session.attempts.exclude(pk=current.pk).get().status == st.RESUBMISSION_REQUESTED


def test_back_with_the_left_marker_nothing_changes_and_continuing_launches_afresh(client, customer):
    session = _created(customer)
    first = client.get(f"/verify/s/{session.reference}/")["Location"]

    page = client.get(f"/verify/return/{session.reference}/", {"left": "1"})

    content = page.content.decode()
    assert "You left before the end of your verification" in content
    assert f'href="/verify/s/{session.reference}/"' in content and "Continue my verification" in content
    # Read at leisure: no meta refresh (the script follows the status).
    assert 'http-equiv="refresh"' not in content and "poll.js" in content
    session.refresh_from_db()
    assert session.status == st.CREATED and not _status_changes(session)
    again = client.get(f"/verify/s/{session.reference}/")["Location"]
    assert again.startswith("https://pull.example/sdk?token=") and again != first


def test_a_return_to_a_session_no_longer_waiting_for_the_user_changes_nothing(client, customer):
    session = _created(customer)
    session_apply_update(
        provider="pullfake",
        update=fakes.decision(session.provider_session_id, st.RESUBMISSION_REQUESTED, reason_code="blurry"),
    )
    client.get(f"/verify/return/{session.reference}/")  # back before they tried again
    session.refresh_from_db()
    assert session.status == st.RESUBMISSION_REQUESTED
    session_apply_update(provider="pullfake", update=fakes.approval(session.provider_session_id))
    # A result that came first (the poller was quicker than the browser) is kept.
    assert not session_returned_from_hosted_flow(session_id=session.pk)
    session.refresh_from_db()
    assert session.status == st.APPROVED


@pytest.mark.parametrize("status", [st.CREATED, st.STARTED])
def test_a_provider_that_reports_progress_itself_is_left_to_do_so(client, customer, status):
    # Veriff's way back is the same return page, but its webhooks say when the user submitted.
    session = VerificationSession.objects.create(
        customer=customer,
        provider="veriff",
        status=status,
        provider_session_id="11111111-2222-4333-8444-555555555555",
        hosted_url="https://magic.veriff.me/v/x",
    )
    page = client.get(f"/verify/return/{session.reference}/")
    assert page.status_code == 200
    session.refresh_from_db()
    assert session.status == status and not _status_changes(session)
    assert client.get(f"/verify/s/{session.reference}/")["Location"] == session.hosted_url


def test_a_submitted_session_without_a_result_is_still_polled_and_abandoned_past_its_lifetime(
    client, customer
):
    session = _created(customer, provider="scripted")
    client.get(f"/verify/return/{session.reference}/")
    session.refresh_from_db()
    assert session.status == st.SUBMITTED

    assert poll_due(now=session.poll_next_at).fetched == 1  # "not ready"
    assert FETCHES[session.provider_session_id]
    session.refresh_from_db()
    assert session.status == st.SUBMITTED and session.poll_next_at is not None

    lifetime = fakes.PullFake.session_lifetime
    VerificationSession.objects.filter(pk=session.pk).update(
        provider_created_at=timezone.now() - lifetime - dt.timedelta(minutes=11),
        poll_next_at=timezone.now(),
    )
    ANSWERS[session.provider_session_id] = []
    assert poll_due().closed == 1
    session.refresh_from_db()
    assert session.status == st.ABANDONED
