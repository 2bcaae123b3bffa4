"""The Solaris half of `load_demo` (kyc/management/commands/load_demo.py): fictional customers whose
person identifications went through every state Solaris has, made the way real ones are.

The app subscribes to Solaris's webhooks first (`solaris_webhooks sync`, against the sandbox), so
that every notification the sandbox sends is signed with a secret the app holds. Then each
verification is started by the app at the sandbox over HTTP (person, identification, IDnow link),
the sandbox's control endpoints decide it or send a person event, and the app learns of it only
through the signed notifications and its own reads of the identification and the person.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.management import call_command

from kyc.models import Customer
from kyc.selectors import provider_person_id_for
from kyc.services import sessions as kyc_sessions

PROVIDER = "solaris"
HTTP_TIMEOUT = 60


@dataclass(frozen=True)
class SolarisScenario:
    """One demo customer and what Solaris does with their identification."""

    ref: str
    first: str
    last: str
    dob: dt.date
    # The sandbox's outcome (its control endpoint: through `pending_*` for successful and failed);
    # None leaves the identification as the app made it, its IDnow link issued (Solaris `pending`,
    # our `started`: the app asks for the link when it creates the identification) and unused;
    # "visited": the end user then opened it, through the app's session page, and left it there.
    outcome: str | None = None
    # Then, about the person: ("changed", {screening fields}) or ("deleted", {}).
    person_event: tuple[str, dict] | None = None
    note: str = ""


SCENARIOS = [
    SolarisScenario("DEMO-S001", "Anja", "Beispiel", dt.date(1987, 2, 11), note="link issued, never opened"),
    SolarisScenario("DEMO-S002", "Bernd", "Platzhalter", dt.date(1979, 6, 23), "visited", note="at IDnow"),
    SolarisScenario("DEMO-S003", "Clara", "Muster", dt.date(1993, 10, 2), "pending_successful"),
    SolarisScenario("DEMO-S004", "Dieter", "Testmann", dt.date(1968, 12, 30), "pending_failed"),
    SolarisScenario("DEMO-S005", "Elif", "Probe", dt.date(1990, 5, 14), "successful"),
    SolarisScenario("DEMO-S006", "Frank", "Fiktiv", dt.date(1983, 8, 8), "failed"),
    SolarisScenario("DEMO-S007", "Gisela", "Exempel", dt.date(1975, 3, 19), "aborted"),
    SolarisScenario("DEMO-S008", "Heinz", "Attrappe", dt.date(1962, 11, 27), "expired"),
    SolarisScenario("DEMO-S009", "Ida", "Erfunden", dt.date(1998, 1, 5), "canceled"),
    # Solaris's screening turned up a potential match after the identification succeeded:
    # PERSON_CHANGED, the person read again, the customer held for review.
    SolarisScenario(
        "DEMO-S010",
        "Jan",
        "Vorlage",
        dt.date(1971, 7, 7),
        "successful",
        person_event=("changed", {"screening_progress": "POTENTIAL_MATCH"}),
    ),
    # Solaris deleted the person (not a customer within 90 days): PERSON_DELETED, and the app
    # erased our personal data of them at once (the AML minimum record kept).
    SolarisScenario(
        "DEMO-S011", "Karla", "Entwurf", dt.date(1995, 9, 21), "failed", person_event=("deleted", {})
    ),
]


def solaris_on_sandbox() -> bool:
    """Solaris is enabled and is the local sandbox (never play demo cases against the real one)."""
    solaris = settings.KYC_PROVIDERS.get(PROVIDER)
    return (
        PROVIDER in settings.KYC_ENABLED_PROVIDERS
        and settings.KYC_SANDBOX_ENABLED
        and bool(solaris)
        and solaris[1]["api_url"].startswith(settings.KYC_PUBLIC_URL)
    )


def customers_create(create: Callable[..., Customer]) -> None:
    for s in SCENARIOS:
        if not Customer.objects.filter(external_ref=s.ref).exists():
            create(
                external_ref=s.ref,
                first_name=s.first,
                last_name=s.last,
                email=f"{s.first.lower()}.{s.last.lower()}@example.com",
                date_of_birth=s.dob,
                country="DE",
            )


def webhooks_sync() -> str:
    """The app's subscriptions at the sandbox, as a deploy makes them (`solaris_webhooks sync`):
    created the first time, kept as they are later, replaced when KYC_PUBLIC_URL changed (`make
    run PORT=…`), so that the sandbox's notifications reach this app signed with a secret it holds."""
    out = io.StringIO()
    call_command("solaris_webhooks", "sync", stdout=out)
    return out.getvalue()


def cases_play(admin, write: Callable[[str], None]) -> None:
    """Plays every scenario whose customer has no session yet (idempotent)."""
    for scenario in SCENARIOS:
        customer = Customer.objects.get(external_ref=scenario.ref)
        if customer.sessions.exists():
            continue
        steps = [scenario.outcome or "", scenario.person_event[0] if scenario.person_event else ""]
        write(f"  {scenario.ref} (Solaris): {scenario.note or ' → '.join(s for s in steps if s)}")
        _play(scenario, customer, admin)


def _play(scenario: SolarisScenario, customer: Customer, admin) -> None:
    session = kyc_sessions.verification_start(customer=customer, provider=PROVIDER, actor=admin)
    session.refresh_from_db()
    if not session.provider_session_id:
        raise RuntimeError(f"the sandbox made no identification for {scenario.ref}: {session.provider_error}")
    control = f"{settings.KYC_PUBLIC_URL}/sandbox/solaris/control"
    if scenario.outcome == "visited":
        # The session page sends the end user on to the identification's IDnow page.
        page = requests.get(f"{settings.KYC_PUBLIC_URL}/verify/s/{session.reference}/", timeout=HTTP_TIMEOUT)
        page.raise_for_status()
    elif scenario.outcome:
        response = requests.post(
            f"{control}/identifications/{session.provider_session_id}/outcome",
            json={"status": scenario.outcome},
            timeout=HTTP_TIMEOUT,
        )
        response.raise_for_status()
    if scenario.person_event:
        kind, body = scenario.person_event
        person_id = provider_person_id_for(customer_id=customer.pk, provider=PROVIDER)
        response = requests.post(f"{control}/persons/{person_id}/{kind}", json=body, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
