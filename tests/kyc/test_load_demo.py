"""`make run`'s demo data: staff in every role and cases in every state, with their evidence,
made through the Veriff, Solaris and ShareID sandboxes over HTTP (here pytest-django's live server plays
`make run`)."""

import io

import pytest
import requests
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from kyc import status as st
from kyc.audit import verify_chain
from kyc.casework import sla
from kyc.management import demo_shareid, demo_solaris
from kyc.management.commands import load_demo as load_demo_command
from kyc.management.commands.load_demo import SCENARIOS
from kyc.models import (
    CaseComment,
    Customer,
    Media,
    ProviderDecision,
    Review,
    RiskFlag,
    ScreeningResult,
    VerificationSession,
)
from kyc.queue import review_queue
from providers.solaris.models import WebhookSubscription
from tests.kyc.conftest import ensure_roles_and_reasons
from tests.providers_config import with_options

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app(live_server, settings):
    settings.KYC_PUBLIC_URL = live_server.url
    with_options(settings, "veriff", api_url=f"{live_server.url}/sandbox/veriff/v1")
    solaris = f"{live_server.url}/sandbox/solaris"
    with_options(settings, "solaris", api_url=solaris, auth_url=solaris)
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
    # (Solaris's evidence: the test below; its erased customer has none left, rightly.)
    decided = VerificationSession.objects.filter(status__in=[st.APPROVED, st.DECLINED, st.REVIEW])
    for session in decided.filter(provider="veriff"):
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
    # DEMO-0017 started again; one identification per Solaris customer.
    assert VerificationSession.objects.count() == len(SCENARIOS) + 1 + len(demo_solaris.SCENARIOS)


def _solaris(ref: str) -> VerificationSession:
    return VerificationSession.objects.get(customer__external_ref=ref, provider="solaris")


def test_demo_has_solaris_identifications_in_every_state(app, monkeypatch):
    """Made the way real ones are: subscribed first, started by the app at the sandbox, decided by
    its control endpoints, and learnt by the app through signed notifications alone."""
    ensure_roles_and_reasons()
    monkeypatch.setattr(load_demo_command, "SCENARIOS", [])  # Veriff's half: the test above
    load_demo()

    # Every notification the sandbox sent was taken: signed with a secret the app holds.
    deliveries = requests.get(f"{app}/sandbox/solaris/control/deliveries", timeout=30).json()["deliveries"]
    assert deliveries and {d["state"] for d in deliveries} == {"delivered"}
    assert set(WebhookSubscription.objects.values_list("event_type", flat=True)) >= {
        "IDENTIFICATION",
        "PERSON_CHANGED",
        "PERSON_DELETED",
    }

    statuses = {s.ref: _solaris(s.ref).status for s in demo_solaris.SCENARIOS if s.ref not in ("DEMO-S011",)}
    assert statuses == {
        # The app asks for the IDnow link as it creates the identification: Solaris's `pending`.
        "DEMO-S001": st.STARTED,
        "DEMO-S002": st.STARTED,
        "DEMO-S003": st.SUBMITTED,
        "DEMO-S004": st.SUBMITTED,
        "DEMO-S005": st.APPROVED,
        "DEMO-S006": st.DECLINED,
        "DEMO-S007": st.ABANDONED,
        "DEMO-S008": st.EXPIRED,
        "DEMO-S009": st.ABANDONED,
        "DEMO-S010": st.APPROVED,
    }
    # IDnow's verdict with Solaris's review still open: provisional, and said so.
    decisions = ProviderDecision.objects.filter(session__provider="solaris", session__status=st.SUBMITTED)
    provisional = dict(decisions.values_list("session__customer__external_ref", "provider_status"))
    assert provisional == {"DEMO-S003": "pending_successful", "DEMO-S004": "pending_failed"}
    # The evidence of a conclusive identification is on our side.
    for ref in ("DEMO-S005", "DEMO-S006"):
        contexts = set(_solaris(ref).media.filter(state=Media.State.STORED).values_list("context", flat=True))
        assert {"document-front", "document-back", "face"} <= contexts, ref
    # PERSON_CHANGED with a potential match: the person read again, the customer held for review.
    held = Customer.objects.get(external_ref="DEMO-S010")
    assert held.kyc_status == "in_review"
    assert held.screening_results.filter(state="possible_match").exists()
    # PERSON_DELETED: our personal data of that person erased at once.
    erased = Customer.objects.get(external_ref="DEMO-S011")
    assert erased.erased_at is not None and erased.first_name == "" and erased.date_of_birth is None
    assert verify_chain().first_break is None

    subscriptions = set(WebhookSubscription.objects.values_list("subscription_id", flat=True))
    load_demo()  # idempotent: no new identification, the subscriptions kept
    assert VerificationSession.objects.filter(provider="solaris").count() == len(demo_solaris.SCENARIOS)
    assert set(WebhookSubscription.objects.values_list("subscription_id", flat=True)) == subscriptions


def _shareid(ref: str) -> VerificationSession:
    return VerificationSession.objects.get(customer__external_ref=ref, provider="shareid")


def test_demo_has_shareid_onboardings_in_every_state(app, settings, monkeypatch):
    """Made the way real ones are: started by the app at the sandbox, each result made by the
    control endpoint and learnt by the app by polling, no applicant fetched twice within 5 s."""
    sandbox = f"{app}/sandbox/shareid"
    # Polling alone, one fetch at a time: the live server's threads (the sandbox's callbacks among
    # them) and the poller's would otherwise meet in the test's in-memory SQLite, whose shared cache
    # refuses a second writer at once ("table is locked") where a database file (make run) or
    # PostgreSQL waits for it.
    with_options(
        settings, "shareid", api_url=sandbox, sdk_url=sandbox + "/sdk/?token={token}", callback=False
    )
    settings.KYC_POLL_THREADS = 1
    ensure_roles_and_reasons()
    monkeypatch.setattr(load_demo_command, "SCENARIOS", [])  # Veriff's half: the test above
    monkeypatch.setattr(demo_solaris, "SCENARIOS", [])  # Solaris's: the test above
    out = load_demo()
    assert "DEMO-H007 (ShareID)" in out

    statuses = {s.ref: _shareid(s.ref).status for s in demo_shareid.SCENARIOS}
    assert statuses == {
        # ShareID tells nothing of progress: an opened SDK page leaves the session "created".
        "DEMO-H001": st.CREATED,
        "DEMO-H002": st.CREATED,
        "DEMO-H003": statuses["DEMO-H003"],  # the result not ready yet: below
        "DEMO-H004": st.APPROVED,
        "DEMO-H005": st.DECLINED,
        "DEMO-H006": st.RESUBMISSION_REQUESTED,
        "DEMO-H007": st.APPROVED,
        "DEMO-H008": st.REVIEW,
        "DEMO-H009": statuses["DEMO-H009"],  # closed: below
    }
    # Still open, its result not ready (submitted once the return page says the SDK ended).
    assert statuses["DEMO-H003"] in (st.CREATED, st.STARTED, st.SUBMITTED)
    assert statuses["DEMO-H009"] in (st.ABANDONED, st.EXPIRED)
    stats = requests.get(f"{sandbox}/control/stats", timeout=30).json()
    assert stats["fetches"] > 0 and stats["rate_limited"] == 0
    # Every reason kept; the second onboarding of DEMO-H007 is a new applicant, a second attempt.
    declined = ProviderDecision.objects.get(session=_shareid("DEMO-H005"))
    assert (declined.reason_code, declined.reason_codes) == ("face_spoof", ["face_spoof", "no_face"])
    resubmitted = _shareid("DEMO-H007")
    assert resubmitted.attempts.count() == 2
    assert [d.status for d in resubmitted.decisions.order_by("received_at")] == [
        st.RESUBMISSION_REQUESTED,
        st.APPROVED,
    ]
    # The images of every result are our evidence, with their digests.
    for ref in ("DEMO-H004", "DEMO-H005", "DEMO-H006", "DEMO-H008"):
        stored = _shareid(ref).media.filter(state=Media.State.STORED)
        assert set(stored.values_list("context", flat=True)) == {
            "document-front",
            "document-back",
            "face",
            "document-face",
        }, ref
        assert all(len(m.sha256) == 64 for m in stored), ref
    assert verify_chain().first_break is None

    load_demo()  # idempotent: no new onboarding
    assert VerificationSession.objects.filter(provider="shareid").count() == len(demo_shareid.SCENARIOS)
