"""The end user's way through, over plain HTTP: start link → waiting page or redirect → the
sandbox's hosted page → an outcome → back on our return page, which shows the status."""

import pytest

from kyc.models import Attempt, Media
from kyc.services import customers, sessions
from tests.support.servers import wait_until
from tests.support.veriff import HTTP_TIMEOUT, media_stored, provider_media, session_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def _customer(ref: str):
    return customers.customer_create(
        external_ref=ref, first_name="Jaan", last_name="Kask", email="jaan@example.com", country="EE"
    )


def _return_page_shows(end_user, url: str, status: str, message: str) -> None:
    def shows() -> bool:
        page = end_user.http.get(url, timeout=HTTP_TIMEOUT)
        assert page.status_code == 200, page.text[:500]
        return f'data-status="{status}"' in page.text and message in page.text

    wait_until(shows, timeout=30, message=f"the return page to show {status!r}")


def test_end_user_approves_on_hosted_page_and_return_page_shows_verified(end_user, settings):
    customer = _customer("IT-FLOW-APPROVE")
    session = end_user.start(customer.pk)
    hosted_url = end_user.wait_for_hosted_url(session)
    assert hosted_url.startswith(f"{settings.KYC_PUBLIC_URL}/sandbox/veriff/v/")

    page = end_user.open_hosted(hosted_url)
    session.refresh_from_db()
    assert session.provider_session_id in page  # the hosted page is that session's
    session_in(session.pk, "started")  # opening the page sent event 7001

    back_to = end_user.choose(hosted_url, "approve")
    assert back_to == f"{settings.KYC_PUBLIC_URL}/verify/return/{session.reference}/"
    _return_page_shows(end_user, back_to, "approved", "You are verified")

    status = end_user.http.get(
        f"{settings.KYC_PUBLIC_URL}/verify/s/{session.reference}/status/", timeout=HTTP_TIMEOUT
    ).json()
    assert status == {"status": "approved", "ready": True, "final": True, "provider_unavailable": False}
    session = session_in(session.pk, "approved")
    assert session.customer.kyc_status == "verified"
    # A decided session's own page sends a returning user to the result, not to the provider.
    again = end_user.http.get(
        f"{settings.KYC_PUBLIC_URL}/verify/s/{session.reference}/",
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    assert again.status_code == 302 and again.headers["Location"] == f"/verify/return/{session.reference}/"


def test_end_user_abandons_on_hosted_page(end_user, settings):
    customer = _customer("IT-FLOW-ABANDON")
    session = end_user.start(customer.pk)
    hosted_url = end_user.wait_for_hosted_url(session)

    back_to = end_user.choose(hosted_url, "abandon")
    assert back_to == f"{settings.KYC_PUBLIC_URL}/verify/return/{session.reference}/"
    _return_page_shows(end_user, back_to, "abandoned", "was not finished")

    session = session_in(session.pk, "abandoned")
    assert session.customer.kyc_status == "action_required"
    decision = session.decisions.get()
    assert (decision.status, decision.code) == ("abandoned", 9104)
    assert provider_media(session.provider_session_id) == []
    assert not Media.objects.filter(session=session).exists()
    # The hosted page is closed now, and a new start makes a new session (seed: 9104 needs one).
    closed = end_user.http.get(hosted_url, timeout=HTTP_TIMEOUT)
    assert "Session expired" in closed.text
    assert end_user.start(customer.pk).pk != session.pk


def test_resubmission_then_approval_on_the_same_session_keeps_both_attempts_media(end_user, settings):
    customer = _customer("IT-FLOW-RESUBMIT")
    # Started by staff this time (the service the admin action calls), finished by the end user.
    session = sessions.verification_start(customer=customer, actor_label="integration-test")
    hosted_url = end_user.wait_for_hosted_url(session)

    back_to = end_user.choose(hosted_url, "resubmit", reason_code=203)
    _return_page_shows(end_user, back_to, "resubmission_requested", "try again")
    session = session_in(session.pk, "resubmission_requested")
    assert session.customer.kyc_status == "action_required"
    first_media = media_stored(
        session, {m.provider_media_id for m in provider_media(session.provider_session_id)}
    )
    assert len(first_media) == 4

    # The user comes back through the start link: the same session, the same hosted URL.
    again = end_user.start(customer.pk)
    assert again.pk == session.pk
    # First the reason in plain words, then (its "Try again" link) the same hosted URL.
    page = end_user.http.get(end_user.session_page_url(again), timeout=HTTP_TIMEOUT)
    assert page.url == back_to and "The whole document was not visible" in page.text
    assert f'href="{hosted_url}"' in page.text
    assert "2 of" in end_user.open_hosted(hosted_url)  # the provider's second attempt
    back_to = end_user.choose(hosted_url, "approve")
    _return_page_shows(end_user, back_to, "approved", "You are verified")

    session = session_in(session.pk, "approved")
    assert session.customer.kyc_status == "verified"
    attempts = list(Attempt.objects.filter(session=session).order_by("created_at", "id"))
    assert len(attempts) == 2
    assert [a.status for a in attempts] == ["resubmission_requested", "approved"]
    decisions = sorted(session.decisions.values_list("code", "attempt__provider_attempt_id"))
    assert decisions == [(9001, attempts[1].provider_attempt_id), (9103, attempts[0].provider_attempt_id)]

    listed = provider_media(session.provider_session_id)
    rows = media_stored(session, {m.provider_media_id for m in listed})
    per_attempt = {a.provider_attempt_id: 0 for a in attempts}
    for media in rows:
        per_attempt[media.attempt.provider_attempt_id] += 1
    assert list(per_attempt.values()) == [4, 4]
    # The first attempt's files were kept, not downloaded again.
    assert {(m.pk, m.sha256, m.stored_at) for m in first_media} <= {
        (m.pk, m.sha256, m.stored_at) for m in rows
    }
