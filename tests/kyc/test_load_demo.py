"""`make run`'s demo data: staff in every role and cases in every state, with their evidence,
made through the Veriff sandbox over HTTP (here pytest-django's live server plays `make run`)."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from kyc import status as st
from kyc.audit import verify_chain
from kyc.models import Customer, Media, Review, VerificationSession
from kyc.queue import review_queue
from tests.kyc.conftest import ensure_roles_and_reasons

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app(live_server, settings):
    settings.KYC_PUBLIC_URL = live_server.url
    settings.VERIFF_API_URL = f"{live_server.url}/sandbox/veriff/v1"
    return live_server.url


def load_demo():
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def test_demo_has_cases_in_every_state_with_media(app, monkeypatch):
    ensure_roles_and_reasons()
    monkeypatch.setenv("KYC_DEMO_PASSWORD", "demo-password-123")
    out = load_demo()
    assert "password: demo-password-123" in out
    for name, group in [("analyst", "Analyst"), ("supervisor", "Supervisor"), ("auditor", "Auditor")]:
        assert User.objects.get(username=name).groups.filter(name=group).exists()

    statuses = set(VerificationSession.objects.values_list("status", flat=True))
    assert statuses >= {
        st.CREATED,
        st.APPROVED,
        st.DECLINED,
        st.RESUBMISSION_REQUESTED,
        st.REVIEW,
        st.EXPIRED,
        st.ABANDONED,
    }
    assert set(Customer.objects.values_list("kyc_status", flat=True)) == set(Customer.KycStatus.values) - {
        "unverified"
    }
    for session in VerificationSession.objects.filter(status__in=[st.APPROVED, st.DECLINED, st.REVIEW]):
        contexts = set(session.media.filter(state=Media.State.STORED).values_list("context", flat=True))
        assert {"document-front", "document-back", "face"} <= contexts, session.customer.external_ref
    assert set(Review.objects.values_list("state", flat=True)) == {"effective", "awaiting_confirmation"}
    assert Review.objects.filter(is_override=True, state="effective").exists()
    queue = review_queue()
    assert queue.filter(awaiting_confirmation=True).exists() and queue.filter(customer__country="IR").exists()
    assert verify_chain().first_break is None
    # Issue 12: a fraud decline stays in the queue after the customer started again (the case is
    # on their new, approved session), and a high-risk approval waits for a second person.
    restarted = Customer.objects.get(external_ref="DEMO-0013")
    assert restarted.kyc_status == "in_review"
    assert queue.filter(customer=restarted).get() == restarted.sessions.order_by("-created_at").first()
    waiting = Review.objects.get(customer__external_ref="DEMO-0014")
    assert (waiting.state, waiting.four_eyes) == ("awaiting_confirmation", ["held_by_policy"])

    again = load_demo()  # idempotent: nothing new, and the passwords are not printed again
    assert "demo-password-123" not in again
    assert VerificationSession.objects.count() == 15
