"""`make run`'s demo data: staff in every role and cases in every state, with their evidence,
made through the Veriff sandbox over HTTP (here pytest-django's live server plays `make run`)."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from kyc import status as st
from kyc.audit import verify_chain
from kyc.casework import sla
from kyc.management.commands.load_demo import SCENARIOS
from kyc.models import CaseComment, Customer, Media, Review, RiskFlag, ScreeningResult, VerificationSession
from kyc.queue import review_queue
from tests.kyc.conftest import ensure_roles_and_reasons
from tests.providers_config import with_options

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app(live_server, settings):
    settings.KYC_PUBLIC_URL = live_server.url
    with_options(settings, "veriff", api_url=f"{live_server.url}/sandbox/veriff/v1")
    return live_server.url


def load_demo():
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def test_demo_has_cases_in_every_state_with_media(app, monkeypatch):
    ensure_roles_and_reasons()
    monkeypatch.setenv("KYC_DEMO_PASSWORD", "demo-password-123")
    out = load_demo()
    # The sign-in comes last, framed, not buried among the log lines (issue 12).
    frame = out.rstrip().splitlines()[-5:]
    assert frame[0].startswith("+--") and frame[-1].startswith("+--")
    assert any("Password:" in line and "demo-password-123" in line for line in frame)
    assert any("/admin/" in line for line in frame)
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
    # Issue 12: risk flags and screening hits held for a person; a resubmission without attemptId.
    assert RiskFlag.objects.filter(session__customer__external_ref="DEMO-0013").count() == 2
    states = dict(
        ScreeningResult.objects.values_list("customer__external_ref", "state").filter(list_type="pep")
    )
    assert states == {"DEMO-0014": "false_positive", "DEMO-0015": "possible_match"}
    assert ScreeningResult.objects.get(list_type="sanctions").state == "awaiting_confirmation"
    held = Customer.objects.filter(external_ref__in=["DEMO-0013", "DEMO-0014", "DEMO-0015"])
    assert set(held.values_list("kyc_status", flat=True)) == {"in_review"}
    assert Customer.objects.get(external_ref="DEMO-0016").kyc_status == "action_required"
    # Case work: a new user sees late and overdue cases, and a comment thread.
    now = timezone.now()
    assert (
        queue.filter(sla.sla_q(sla.LATE, now)).exists() and queue.filter(sla.sla_q(sla.OVERDUE, now)).exists()
    )
    assert CaseComment.objects.filter(customer__external_ref="DEMO-0002").count() == 2

    # Issue 12: a fraud decline stays in the queue after the customer started again (the case is
    # on their new, approved session), and a high-risk approval waits for a second person.
    restarted = Customer.objects.get(external_ref="DEMO-0017")
    assert restarted.kyc_status == "in_review"
    assert queue.filter(customer=restarted).get() == restarted.sessions.order_by("-created_at").first()
    waiting = Review.objects.get(customer__external_ref="DEMO-0018")
    assert (waiting.state, waiting.four_eyes) == ("awaiting_confirmation", ["held_by_policy"])

    again = load_demo()  # idempotent: nothing new, and the passwords are not printed again
    assert "demo-password-123" not in again
    assert VerificationSession.objects.count() == len(SCENARIOS) + 1  # DEMO-0017 started again
