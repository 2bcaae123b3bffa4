"""IDENTIFICATION end to end in one process: the sandbox's outcome → its signed notifications → our
/webhooks/solaris/ → each stored as a hint → processing reads the identification back
(fetch_update) and applies what it read (providers/solaris/README.md, "Reading")."""

import io

from django.core.management import call_command

from kyc import status as st
from kyc.services.accounts import provider_account_record
from tests.factories import SessionFactory
from tests.providers.solaris.hooks_support import (
    eager_tasks,  # noqa: F401 (autouse fixture)
    network_fixture,  # noqa: F401 (the `network` fixture)
)
from webhooks.models import InboundEvent
from webhooks.services import inbound_events_release_waiting


def test_an_identification_outcome_arrives_as_hints_and_the_read_back_decides(network, customer):
    call_command("solaris_webhooks", "sync", stdout=io.StringIO())
    person = network.person()
    with network.capture(execute=True):
        created = network.api("POST", f"/persons/{person}/identifications", {"method": "idnow"}).json()
        requested = network.api("PATCH", f"/persons/{person}/identifications/{created['id']}/request", {})
    session = SessionFactory(
        customer=customer,
        provider="solaris",
        provider_session_id=created["id"],
        hosted_url=requested.json()["url"],
        status=st.STARTED,
    )
    provider_account_record(customer_id=customer.pk, provider="solaris", provider_person_id=person)
    # Those that came before the session existed waited for it; released, they are read back.
    with network.capture(execute=True):
        inbound_events_release_waiting(provider="solaris", provider_session_id=created["id"])

    assert (
        network.control(
            "POST", f"/identifications/{created['id']}/outcome", {"status": "successful"}
        ).status_code
        == 200
    )
    deliveries = network.deliveries(event_type="IDENTIFICATION", entity_id=created["id"])
    assert {d["state"] for d in deliveries} == {"delivered"}
    events = InboundEvent.objects.filter(authenticated=True, provider_session_id=created["id"])
    assert events.count() == len(deliveries)
    assert set(events.values_list("state", flat=True)) == {InboundEvent.State.PROCESSED}
    session.refresh_from_db()
    assert session.status == st.APPROVED
