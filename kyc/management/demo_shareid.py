"""The ShareID part of `load_demo` (kyc/management/commands/load_demo.py): fictional customers whose
onboardings went through every state a ShareID verification has, made the way real ones are.

The app starts each onboarding at the sandbox over HTTP; the end user's visits are GETs of the
app's own flow pages (which launch the SDK with a fresh single-use token and send the browser to
the sandbox's SDK page) and of our return page; the sandbox's control endpoint makes each result
(`delay: 0`, ready at once); and the app learns of it only by polling
(`kyc.operations.polling.poll_due`, the poller's own batch) and from the sandbox's callback, which
only brings the next fetch forward. The sessions are polled side by side, each no more often than
ShareID's 5 seconds allow, so the whole takes two or three intervals, not one per customer. The
results' images are stored as evidence.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from django.conf import settings
from django.urls import reverse

from kyc import status as st
from kyc.models import Customer, VerificationSession
from kyc.operations.polling import poll_due
from kyc.services import sessions as kyc_sessions
from providers.registry import find_provider

PROVIDER = "shareid"
HTTP_TIMEOUT = 60
# How long the demo waits for the poller to bring every result home; a few intervals suffice.
POLL_DEADLINE = 90.0  # seconds
# "Awaiting the result": ShareID's analysis is still running for this long (real seconds; within
# the SDK token's lifetime, past which the poller would close the session as abandoned).
ANALYSIS_UNDER_WAY = 30 * 60


@dataclass(frozen=True)
class ShareIDScenario:
    """One demo customer and what happens to their onboardings."""

    ref: str
    first: str
    last: str
    dob: dt.date
    # Whether the end user opened the flow (the SDK page, its token spent). ShareID tells nothing
    # of progress: the app sees a visit only as its own launch (the session stays "created").
    visit: bool = True
    # Whether the end user's browser then came back to our return page (the SDK's end).
    returned: bool = False
    # Each onboarding's result in order, as the sandbox makes it (reasons, `[]` approves), with the
    # status the app must reach from it; after a resubmission request the end user visits again,
    # which starts the next onboarding (a new applicant at ShareID). Empty: no result.
    results: tuple[tuple[tuple[str, ...], str], ...] = ()
    # The last result is ready this many seconds later (0: at once).
    delay: int = 0
    # No result until past the SDK token's lifetime: the poller closes it (abandoned once the
    # session was started or submitted, expired otherwise: the app cannot tell an unopened link).
    abandoned: bool = False
    note: str = ""


SCENARIOS = [
    ShareIDScenario(
        "DEMO-H001", "Léa", "Exemple", dt.date(1994, 3, 8), visit=False, note="link never opened"
    ),
    ShareIDScenario("DEMO-H002", "Marc", "Fictif", dt.date(1981, 11, 19), note="at ShareID's SDK page"),
    ShareIDScenario(
        "DEMO-H003",
        "Nina",
        "Modèle",
        dt.date(1989, 6, 2),
        results=(((), st.APPROVED),),
        delay=ANALYSIS_UNDER_WAY,
        returned=True,
        note="finished; ShareID's analysis under way (30 minutes)",
    ),
    ShareIDScenario("DEMO-H004", "Olivier", "Essai", dt.date(1976, 1, 30), results=(((), st.APPROVED),)),
    # Fraud comes first: a spoofed face with a blurry one beside it is a decline, not "try again".
    ShareIDScenario(
        "DEMO-H005",
        "Pauline",
        "Factice",
        dt.date(1992, 9, 14),
        results=((("face_spoof", "no_face"), st.DECLINED),),
    ),
    ShareIDScenario(
        "DEMO-H006",
        "Quentin",
        "Brouillon",
        dt.date(1985, 4, 27),
        results=((("no_doc", "face_insufficient_quality"), st.RESUBMISSION_REQUESTED),),
    ),
    ShareIDScenario(
        "DEMO-H007",
        "Rose",
        "Maquette",
        dt.date(1997, 12, 5),
        results=((("doc_expired",), st.RESUBMISSION_REQUESTED), ((), st.APPROVED)),
    ),
    ShareIDScenario(
        "DEMO-H008",
        "Simon",
        "Gabarit",
        dt.date(1970, 7, 16),
        results=((("analysis_failed",), st.REVIEW),),
    ),
    ShareIDScenario(
        "DEMO-H009",
        "Théo",
        "Ébauche",
        dt.date(2001, 2, 22),
        returned=True,
        abandoned=True,
        note="opened, no result within the token's lifetime: closed by the poller",
    ),
]


def shareid_on_sandbox() -> bool:
    """ShareID is enabled and is the local sandbox (never play demo cases against the real one)."""
    shareid = settings.KYC_PROVIDERS.get(PROVIDER)
    return (
        PROVIDER in settings.KYC_ENABLED_PROVIDERS
        and settings.KYC_SANDBOX_ENABLED
        and bool(shareid)
        and shareid[1]["api_url"].startswith(settings.KYC_PUBLIC_URL)
    )


def customers_create(create: Callable[..., Customer]) -> None:
    for s in SCENARIOS:
        if not Customer.objects.filter(external_ref=s.ref).exists():
            create(
                external_ref=s.ref,
                first_name=s.first,
                last_name=s.last,
                email=f"{s.ref.lower()}@example.com",
                date_of_birth=s.dob,
                country="FR",
            )


def cases_play(admin, write: Callable[[str], None]) -> None:
    """Plays every scenario whose customer has no session yet (idempotent)."""
    todo = []
    for scenario in SCENARIOS:
        customer = Customer.objects.get(external_ref=scenario.ref)
        if customer.sessions.exists():
            continue
        outcomes = " → ".join(status for _, status in scenario.results)
        write(f"  {scenario.ref} (ShareID): {scenario.note or outcomes}")
        session = kyc_sessions.verification_start(customer=customer, provider=PROVIDER, actor=admin)
        session.refresh_from_db()
        if not session.provider_session_id:
            raise RuntimeError(f"the sandbox made no onboarding for {scenario.ref}: {session.provider_error}")
        todo.append((scenario, session))
    if not todo:
        return
    # Every session's first result, then its later ones, round by round: each round's results are
    # polled for together.
    rounds = max(len(scenario.results) for scenario, _ in todo)
    for scenario, session in todo:
        if scenario.visit:
            _visit(reverse("flow:session", args=[session.reference]))
        if scenario.returned:
            _visit(reverse("flow:return", args=[session.reference]))
        if scenario.abandoned:
            _lifetime_over(session.pk)
    for index in range(rounds):
        waiting = {}
        for scenario, session in todo:
            if index >= len(scenario.results):
                continue
            if index > 0:  # "Try again" on the return page: a new onboarding, a fresh SDK token
                _visit(reverse("flow:launch", args=[session.reference]))
            reasons, status = scenario.results[index]
            last = index == len(scenario.results) - 1
            _complete(session.pk, reasons, delay=scenario.delay if last else 0)
            if not (last and scenario.delay):
                waiting[session.pk] = {status}
        if index == 0:
            closed = {st.ABANDONED, st.EXPIRED}
            waiting.update({session.pk: closed for scenario, session in todo if scenario.abandoned})
        _poll_until(waiting)


def _visit(path: str) -> None:
    """The end user's browser: our flow page, then wherever it sends them (the SDK page)."""
    response = requests.get(f"{settings.KYC_PUBLIC_URL}{path}", timeout=HTTP_TIMEOUT)
    response.raise_for_status()


def _complete(session_id: int, reasons: tuple[str, ...], *, delay: int) -> None:
    applicant_id = VerificationSession.objects.values_list("provider_session_id", flat=True).get(
        pk=session_id
    )
    response = requests.post(
        f"{settings.KYC_PUBLIC_URL}/sandbox/shareid/control/applicants/{applicant_id}/complete",
        json={"reasons": list(reasons), "delay": delay},
        timeout=HTTP_TIMEOUT,
    )
    response.raise_for_status()


def _lifetime_over(session_id: int) -> None:
    """Demo only: the onboarding is shown as started long enough ago that its SDK token's lifetime
    (and the poller's grace after it) is over, so that the poller closes it now rather than in an
    hour. The audit trail keeps the real times."""
    provider = find_provider(PROVIDER)
    lifetime = provider.session_lifetime if provider is not None else dt.timedelta(hours=1)
    past = dt.timedelta(seconds=settings.KYC_POLL_LIFETIME_GRACE) + lifetime + dt.timedelta(minutes=1)
    session = VerificationSession.objects.get(pk=session_id)
    VerificationSession.objects.filter(pk=session_id).update(
        provider_created_at=(session.provider_created_at or session.created_at) - past,
        created_at=session.created_at - past,
    )


def _poll_until(waiting: dict[int, set[str]]) -> None:
    """Run the poller's batches until every session in `waiting` has one of its statuses."""
    deadline = time.monotonic() + POLL_DEADLINE
    while True:
        statuses = dict(VerificationSession.objects.filter(pk__in=waiting).values_list("pk", "status"))
        late = {pk: wanted for pk, wanted in waiting.items() if statuses.get(pk) not in wanted}
        if not late:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"ShareID demo sessions not decided as expected: {late} (now {statuses})")
        poll_due()
        time.sleep(0.5)
