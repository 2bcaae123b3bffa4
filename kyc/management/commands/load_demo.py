"""Demo data for `make run`: staff in each role and fictional customers (no real people) whose
verifications went through every state, with their evidence, at Veriff, at Solaris
(kyc/management/demo_solaris.py) and at ShareID (kyc/management/demo_shareid.py).

The cases are made the way real ones are: the app starts a session at the Veriff sandbox over
HTTP, the sandbox's control endpoint decides it, the sandbox sends its signed webhooks to the app,
and the app downloads the media (generated, obviously fake document photos and selfies, a test
video). That needs the app to answer at KYC_PUBLIC_URL: if nothing answers there yet (`make run`
loads the demo before starting the server), the command serves the app there itself, in a thread,
for the time it takes. Staff decisions on top are made through the same services as the
back-office buttons. Idempotent: customers that have a session already are left alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import connections
from django.utils import timezone

from kyc.casework.comments import case_comment_add
from kyc.links import start_url
from kyc.management import demo_shareid, demo_solaris
from kyc.models import Attempt, Customer, ProviderDecision, ReviewReason, VerificationSession
from kyc.services import assignment, screening
from kyc.services import case_actions as actions
from kyc.services import customers as kyc_customers
from kyc.services import reviews as decisions
from kyc.services import sessions as kyc_sessions


@dataclass(frozen=True)
class Scenario:
    """One demo customer and what happens to their verification."""

    ref: str
    first: str
    last: str
    dob: dt.date
    country: str
    # Sandbox decisions in order ("resubmission_requested" then "approved": two attempts);
    # "expire" runs the 7-day rule; [] leaves the session created and never opened.
    steps: list[tuple[str, int | None]] = field(default_factory=list)
    # Staff on top: ("propose", outcome, reason code, by) / ("confirm", by) / ("assign", to).
    staff: list[tuple] = field(default_factory=list)
    # The customer's record corrected after the verification (shows a mismatch on the case page).
    corrected: dict = field(default_factory=dict)
    # Sent with each sandbox decision: risk signals (riskLabels, matchedSessionId, …), omitAttemptId.
    decision_options: dict = field(default_factory=dict)
    # After the decisions: the sandbox's watchlist-screening webhook with hits on these lists.
    watchlist: list[str] = field(default_factory=list)
    # Case work: comments (by, text), and how long ago the provider decided (hours), so that a new
    # user sees late and overdue cases in the queue and on the dashboard (KYC_SLA_*_HOURS).
    comments: list[tuple[str, str]] = field(default_factory=list)
    decided_hours_ago: float | None = None
    # A second session after the first one's result, decided so: started by the analyst from the
    # case page when the customer called in (after a fraud decline they cannot restart alone).
    restart: list[tuple[str, int | None]] = field(default_factory=list)


SCENARIOS = [
    Scenario("DEMO-0001", "Ada", "Example", dt.date(1985, 4, 12), "EE", [("approved", None)]),
    Scenario(
        "DEMO-0002",
        "Bruno",
        "Sample",
        dt.date(1990, 9, 3),
        "DE",
        [("declined", 102)],
        staff=[("assign", "analyst")],
        corrected={"last_name": "Samples", "date_of_birth": dt.date(1990, 3, 9)},
        comments=[
            (
                "analyst",
                "Called the customer: the date of birth on our record was typed day-first. Corrected.",
            ),
            ("supervisor", "Fine by me; the document itself still needs a second look."),
        ],
        decided_hours_ago=30,
    ),
    Scenario(
        "DEMO-0003",
        "Chloe",
        "Testperson",
        dt.date(1978, 1, 27),
        "FR",
        [("resubmission_requested", 204)],
        decided_hours_ago=50,
    ),
    Scenario(
        "DEMO-0004",
        "Dmitri",
        "Placeholder",
        dt.date(2000, 6, 30),
        "LV",
        [("review", None)],
        comments=[("analyst2", "Waiting for the customer's proof of address before deciding.")],
        decided_hours_ago=80,
    ),
    Scenario("DEMO-0005", "Eva", "Fictional", dt.date(1969, 11, 5), "GB", []),
    # An approval from a high-risk country: the review policy holds it for a person.
    Scenario(
        "DEMO-0006", "Farid", "Demo", dt.date(1982, 2, 14), "IR", [("approved", None)], decided_hours_ago=100
    ),
    Scenario(
        "DEMO-0007",
        "Greta",
        "Mock",
        dt.date(1995, 7, 21),
        "SE",
        [("declined", 103)],
        staff=[("assign", "analyst"), ("propose", "approve", "additional-evidence-received", "analyst")],
    ),
    Scenario(
        "DEMO-0008",
        "Hugo",
        "Dummy",
        dt.date(1973, 12, 1),
        "NL",
        [("declined", 105)],
        staff=[("propose", "decline", "suspected-fraud", "analyst")],
    ),
    Scenario(
        "DEMO-0009",
        "Ines",
        "Sample",
        dt.date(1988, 5, 17),
        "PT",
        [("declined", 103)],
        staff=[("propose", "approve", "provider-concern-resolved", "analyst"), ("confirm", "supervisor")],
    ),
    Scenario("DEMO-0010", "Jonas", "Fake", dt.date(1999, 10, 10), "LT", [("expire", None)]),
    Scenario("DEMO-0011", "Kim", "Example", dt.date(1992, 8, 8), "FI", [("abandoned", None)]),
    Scenario(
        "DEMO-0012",
        "Lena",
        "Mock",
        dt.date(1984, 3, 3),
        "AT",
        [("resubmission_requested", 201), ("approved", None)],
    ),
    # Issue 12: an approval with risk signals is held for a person (risk flags on the case page).
    Scenario(
        "DEMO-0013",
        "Mira",
        "Crosslink",
        dt.date(1991, 1, 19),
        "EE",
        [("approved", None)],
        decision_options={
            "riskLabels": ["document_crosslinked_with_fraud"],
            "matchedSessionId": "d40edb60-6ae6-4475-be72-84b81669cce6",
        },
    ),
    # A watchlist possible match (sanctions and PEP) after an approval: held; the PEP hit settled as
    # a false positive, the sanctions one proposed as a false positive awaiting a second person.
    Scenario(
        "DEMO-0014",
        "Nadia",
        "Watchlist",
        dt.date(1975, 5, 25),
        "GB",
        [("approved", None)],
        watchlist=["sanctions", "pep"],
        staff=[
            ("screen", "pep", "false_positive", "analyst"),
            ("screen", "sanctions", "false_positive", "supervisor"),
        ],
    ),
    # The sandbox's person record matches the last name "Pep": a PEP hit read after the decision.
    Scenario("DEMO-0015", "Otto", "Pep", dt.date(1966, 9, 9), "DE", [("approved", None)]),
    # A resubmission decision without attemptId (as Veriff's own examples): still asks to resubmit.
    Scenario(
        "DEMO-0016",
        "Pia",
        "Noattempt",
        dt.date(1998, 2, 2),
        "FI",
        [("resubmission_requested", 204)],
        decision_options={"omitAttemptId": True},
    ),
    # A fraud decline (106) stays in the queue although the customer started again and the new
    # session was approved: the case page shows both, and approving needs a second person.
    Scenario(
        "DEMO-0017",
        "Mara",
        "Placeholder",
        dt.date(1991, 4, 4),
        "BE",
        [("declined", 106)],
        staff=[("assign", "analyst")],
        restart=[("approved", None)],
    ),
    # A high-risk approval an analyst approved: it waits for a second person (a supervisor).
    Scenario(
        "DEMO-0018",
        "Nader",
        "Example",
        dt.date(1980, 1, 20),
        "IR",
        [("approved", None)],
        staff=[("assign", "analyst"), ("propose", "approve", "manual-document-check-passed", "analyst")],
    ),
]
NOTES = {
    "additional-evidence-received": "Video call held with the customer; the face matches the document photo.",
    "suspected-fraud": "The document font differs from the issuer's template; agree with the provider.",
    "provider-concern-resolved": "Photo taken in poor light; second look confirms it is the same person.",
    "screen:pep": "Different person: the listed official was born in another decade.",
    "screen:sanctions": "Date of birth and nationality differ from the sanctions listing.",
    "manual-document-check-passed": "Document checked against the issuer's template; the data match.",
}
STAFF = {"analyst": "Analyst", "analyst2": "Analyst", "supervisor": "Supervisor", "auditor": "Auditor"}


class Command(BaseCommand):
    help = "Create demo staff, customers and cases in every state with media (idempotent); print the logins."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--no-cases", action="store_true", help="customers only, no verifications")

    def handle(self, *args, username, no_cases=False, **options):
        password = os.environ.get("KYC_DEMO_PASSWORD") or secrets.token_urlsafe(12)
        created = self._staff(username, password)
        for s in SCENARIOS:
            if not Customer.objects.filter(external_ref=s.ref).exists():
                kyc_customers.customer_create(
                    external_ref=s.ref,
                    first_name=s.first,
                    last_name=s.last,
                    email=f"{s.first.lower()}@example.com",
                    date_of_birth=s.dob,
                    country=s.country,
                    actor=created.get(username) or get_user_model().objects.get(username=username),
                )
        if demo_solaris.solaris_on_sandbox():
            admin = created.get(username) or get_user_model().objects.get(username=username)
            demo_solaris.customers_create(partial(kyc_customers.customer_create, actor=admin))
        if demo_shareid.shareid_on_sandbox():
            admin = created.get(username) or get_user_model().objects.get(username=username)
            demo_shareid.customers_create(partial(kyc_customers.customer_create, actor=admin))
        if not no_cases:
            self._cases(username)
        self._report(username, password, created)

    # --- staff ------------------------------------------------------------------------------
    def _staff(self, username: str, password: str) -> dict:
        User = get_user_model()
        created = {}
        if not User.objects.filter(username=username).exists():
            created[username] = User.objects.create_superuser(
                username=username, email=f"{username}@example.com", password=password
            )
        for name, role in STAFF.items():
            if not User.objects.filter(username=name).exists():
                user = User.objects.create_user(name, f"{name}@example.com", password, is_staff=True)
                user.groups.add(Group.objects.get(name=role))
                created[name] = user
        return created

    # --- cases ------------------------------------------------------------------------------
    def _cases(self, username: str) -> None:
        todo = [s for s in SCENARIOS if not Customer.objects.get(external_ref=s.ref).sessions.exists()]
        veriff = settings.KYC_PROVIDERS.get("veriff")
        if todo and (
            not settings.KYC_SANDBOX_ENABLED
            or not veriff
            or not veriff[1]["api_url"].startswith(settings.KYC_PUBLIC_URL)
        ):
            self.stdout.write("Veriff is not the local sandbox: demo verifications skipped.")
            todo = []
        # Solaris's subscriptions are synced on every run, not only the first: `make run` on
        # another port moves KYC_PUBLIC_URL, and the sandbox's notifications must follow it.
        solaris = demo_solaris.solaris_on_sandbox()
        shareid = demo_shareid.shareid_on_sandbox()
        if not todo and not solaris and not shareid:
            return
        User = get_user_model()
        admin = User.objects.get(username=username)
        with _app_answering(settings.KYC_PUBLIC_URL):
            for scenario in todo:
                self.stdout.write(
                    f"  {scenario.ref}: {' → '.join(s for s, _ in scenario.steps) or 'created'}"
                )
                self._play(scenario, admin)
            if solaris:
                synced = demo_solaris.webhooks_sync().strip().splitlines()
                self.stdout.write(f"  Solaris webhook subscriptions: {synced[-1] if synced else 'synced'}")
                demo_solaris.cases_play(admin, self.stdout.write)
            if shareid:
                demo_shareid.cases_play(admin, self.stdout.write)

    def _play(self, scenario: Scenario, admin) -> None:
        customer = Customer.objects.get(external_ref=scenario.ref)
        session = kyc_sessions.verification_start(customer=customer, actor=admin)
        control = self._decide(scenario, session, scenario.steps)
        if scenario.watchlist:
            body = {"matchStatus": "possible_match", "lists": scenario.watchlist}
            requests.post(f"{control}/watchlist", json=body, timeout=60).raise_for_status()
        if scenario.corrected:
            for name, value in scenario.corrected.items():
                setattr(customer, name, value)
            kyc_customers.customer_update(customer=customer, changed=list(scenario.corrected), actor=admin)
        self._staff_steps(scenario, customer, session)
        User = get_user_model()
        for by, text in scenario.comments:
            case_comment_add(session_id=session.pk, body=text, actor=User.objects.get(username=by))
        if scenario.decided_hours_ago:
            _decided_earlier(session.pk, dt.timedelta(hours=scenario.decided_hours_ago))
        if scenario.restart:
            analyst = User.objects.get(username="analyst")
            again = actions.case_start_new_session(session_id=session.pk, actor=analyst)
            self._decide(scenario, again, scenario.restart)

    def _decide(self, scenario: Scenario, session, steps) -> str:
        """Plays the provider's side of `steps` through the sandbox's control calls; returns the
        session's control URL."""
        session.refresh_from_db()
        if not session.provider_session_id:
            raise RuntimeError(f"the sandbox created no session for {scenario.ref}: {session.provider_error}")
        control = f"{settings.KYC_PUBLIC_URL}/sandbox/veriff/control/sessions/{session.provider_session_id}"
        for status, reason in steps:
            if status == "expire":
                response = requests.post(f"{control}/expire", timeout=60)
            else:
                body = {"status": status, **({"reasonCode": reason} if reason else {})}
                body.update(scenario.decision_options)
                response = requests.post(f"{control}/decision", json=body, timeout=60)
            response.raise_for_status()
        return control

    def _staff_steps(self, scenario: Scenario, customer, session) -> None:
        User = get_user_model()
        for step in scenario.staff:
            if step[0] == "assign":
                user = User.objects.get(username=step[1])
                assignment.case_assign(session_id=session.pk, assignee=user, actor=user)
            elif step[0] == "propose":
                _, outcome, code, by = step
                decisions.review_propose(
                    session_id=session.pk,
                    outcome=outcome,
                    reason=ReviewReason.objects.get(code=code),
                    note=NOTES[code],
                    actor=User.objects.get(username=by),
                )
            elif step[0] == "confirm":
                review = session.reviews.get(state="awaiting_confirmation")
                decisions.review_confirm(
                    review_id=review.pk,
                    actor=User.objects.get(username=step[1]),
                    note="Watched the selfie video against the document photo: the same person.",
                )
            elif step[0] == "screen":
                _, list_type, resolution, by = step
                hit = customer.screening_results.get(list_type=list_type)
                screening.screening_resolve(
                    result_id=hit.pk,
                    resolution=resolution,
                    reason=NOTES[f"screen:{list_type}"],
                    actor=User.objects.get(username=by),
                )

    # --- report -----------------------------------------------------------------------------
    def _report(self, username: str, password: str, created: dict) -> None:
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        for customer in Customer.objects.filter(external_ref__startswith="DEMO-").order_by("external_ref"):
            status = customer.get_kyc_status_display().lower()
            if customer.erased_at:  # nothing left to show, and no verification to start
                self.stdout.write(f"  {customer.external_ref} (personal data erased) [{status}]")
                continue
            link = start_url(customer.pk)
            self.stdout.write(f"  {customer.external_ref} {customer.full_name} [{status}]: {link}")
        # The sign-in last and framed: what a person needs from `make run`'s scroll of task and
        # request logs, right above the server's own first lines.
        lines = [f"Staff login: {settings.KYC_PUBLIC_URL}/admin/"]
        if created:
            who = ", ".join(f"{name} ({STAFF.get(name, 'superuser')})" for name in created)
            lines += [f"Users:       {who}", f"Password:    {password}"]
        else:
            lines += [
                f"Users:       {username}, {', '.join(STAFF)}",
                "Password:    printed when they were created (reset: python manage.py changepassword USER)",
            ]
        if settings.KYC_STAFF_2FA_REQUIRED:
            lines.append(
                "Two-factor sign-in is on: the first sign-in shows a QR code for an authenticator app."
            )
        width = max(len(line) for line in lines)
        self.stdout.write("")
        self.stdout.write("+" + "-" * (width + 2) + "+")
        for line in lines:
            self.stdout.write(self.style.SUCCESS(f"| {line.ljust(width)} |"))
        self.stdout.write("+" + "-" * (width + 2) + "+")


def _decided_earlier(session_id: int, ago: dt.timedelta) -> None:
    """Demo only: the case is made now and shown as if the provider had decided `ago` earlier (the
    session's times and its decisions'; the audit trail keeps the real times, its chain cannot
    change). The queue's SLA clock starts at the decision (kyc.reviews.queue_state)."""
    session = VerificationSession.objects.get(pk=session_id)
    shift = timezone.now() - ago - (session.decided_at or timezone.now())
    times = {
        name: getattr(session, name) + shift
        for name in (
            "created_at",
            "submitted_at",
            "started_at",
            "status_changed_at",
            "decided_at",
            "queued_at",
        )
        if getattr(session, name)
    }
    VerificationSession.objects.filter(pk=session_id).update(**times)
    for attempt in Attempt.objects.filter(session_id=session_id):
        Attempt.objects.filter(pk=attempt.pk).update(
            created_at=attempt.created_at + shift, updated_at=attempt.updated_at + shift
        )
    for decision in ProviderDecision.objects.filter(session_id=session_id):
        ProviderDecision.objects.filter(pk=decision.pk).update(
            received_at=decision.received_at + shift,
            decided_at=decision.decided_at + shift if decision.decided_at else None,
        )


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@contextlib.contextmanager
def _app_answering(public_url: str):
    """Make sure the app answers at its public URL while the demo is played: the sandbox sends
    its webhooks there and the app fetches media from the sandbox there."""
    if _answers(public_url):
        yield
        return
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    parts = urlsplit(public_url)
    server = ThreadedWSGIServer((parts.hostname, parts.port or 80), QuietHandler, allow_reuse_address=True)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, name="demo-app", daemon=True)
    thread.start()
    try:
        for _ in range(50):
            if _answers(public_url):
                break
            time.sleep(0.1)
        yield
    finally:
        server.shutdown()
        server.server_close()
        connections.close_all()
