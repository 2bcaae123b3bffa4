"""SolarisProvider against the sandbox: a session is a person identification; each outcome set
through the sandbox's control endpoint reads back as the right normalized status, with IDnow's
documents listed and downloaded byte for byte; the person read again after PERSON_CHANGED."""

import datetime as dt
import hashlib
import uuid

import pytest

from providers import base
from providers.base import PersonData, ProviderError, SessionRequest
from providers.solaris.provider import SolarisProvider
from tests.providers_config import provider_options

pytestmark = pytest.mark.django_db


def _request(**changes) -> SessionRequest:
    fields = {
        "reference": str(uuid.uuid4()),
        "return_url": "http://127.0.0.1:8000/verify/return/",
        "person": PersonData(first_name="Anna", last_name="Schmidt", date_of_birth=dt.date(1990, 4, 1)),
        **changes,
    }
    return SessionRequest(**fields)


def _read(stream) -> bytes:
    buffer, chunks = bytearray(1000), []
    while count := stream.readinto(buffer):
        chunks.append(bytes(buffer[:count]))
    return b"".join(chunks)


def test_a_session_is_an_identification_of_a_new_person_with_its_idnow_link(
    solaris_provider, solaris_sandbox
):
    request = _request()
    created = solaris_provider.create_session(request)

    assert created.provider_session_id.endswith("cidt") and created.provider_person_id.endswith("cper")
    assert created.url.startswith(
        f"{solaris_sandbox.base_url}/idnow/identifications/{created.provider_session_id}"
    )
    shown = solaris_sandbox.control("GET", f"/identifications/{created.provider_session_id}")[
        "identification"
    ]
    assert shown["status"] == "pending" and shown["reference"] == request.reference
    assert shown["method"] == "idnow" and shown["language"] == "EN"
    assert shown["person_id"] == created.provider_person_id


def test_a_known_person_is_reused_not_made_again(solaris_provider, solaris_sandbox):
    first = solaris_provider.create_session(_request())
    calls_before = len(solaris_sandbox.calls)

    second = solaris_provider.create_session(_request(provider_person_id=first.provider_person_id))

    assert second.provider_person_id == first.provider_person_id
    assert second.provider_session_id != first.provider_session_id
    assert not [c for c in solaris_sandbox.calls[calls_before:] if c[1].endswith("/v1/persons")]


def test_the_method_is_the_configured_one(settings, solaris_sandbox):
    provider = SolarisProvider(
        **{**provider_options(settings, "solaris"), "identification_method": "idnow_autoident"}
    )
    created = provider.create_session(_request(language="de"))

    shown = solaris_sandbox.control("GET", f"/identifications/{created.provider_session_id}")[
        "identification"
    ]
    assert shown["method"] == "idnow_autoident" and shown["language"] == "DE"


def test_the_device_fingerprint_reaches_solaris(solaris_provider, solaris_sandbox):
    created = solaris_provider.create_session(_request(device_data="seon-fingerprint-abc"))

    shown = solaris_sandbox.control("GET", f"/identifications/{created.provider_session_id}")
    # Given when the identification is made and when its link is asked for.
    assert shown["device_data"] == ["seon-fingerprint-abc", "seon-fingerprint-abc"]


def test_an_identification_just_requested_has_started(solaris_provider):
    created = solaris_provider.create_session(_request())

    update = solaris_provider.fetch_update(
        created.provider_session_id, provider_person_id=created.provider_person_id
    )

    assert update.status == base.STARTED and update.decision is None
    assert update.hosted_url == created.url


@pytest.mark.parametrize(
    ("outcome", "status", "with_documents"),
    [
        ("successful", base.APPROVED, True),
        ("failed", base.DECLINED, True),
        ("aborted", base.ABANDONED, False),
        ("expired", base.EXPIRED, False),
        ("canceled", base.ABANDONED, False),
        ("pending_successful", base.SUBMITTED, True),
        ("pending_failed", base.SUBMITTED, True),
    ],
)
def test_each_outcome_reads_back_with_its_documents(
    solaris_provider, solaris_sandbox, outcome, status, with_documents
):
    created = solaris_provider.create_session(_request())
    ids = {"provider_person_id": created.provider_person_id}
    solaris_sandbox.outcome(created.provider_session_id, outcome)

    update = solaris_provider.fetch_update(created.provider_session_id, **ids)

    assert update.status == status
    assert update.decision.status == status and update.decision.provider_status == outcome
    assert update.provider_session_id == created.provider_session_id
    assert update.dedupe_key == f"solaris:identification:{created.provider_session_id}:{outcome}"
    if outcome.startswith("pending_"):
        assert "provisional" in update.decision.reason
    if outcome in ("successful", "failed"):
        assert update.decision.decided_at is not None
    items = solaris_provider.list_media(created.provider_session_id, **ids)
    if not with_documents:
        assert items == []
        return
    assert sorted(i.context for i in items) == ["document-back", "document-front", "face", "report"]
    assert {i.kind for i in items} == {"image", "other"}
    assert all(i.attempt_id == created.provider_session_id for i in items)
    for item in items:
        with solaris_provider.open_media(item, **ids) as stream:
            received = _read(stream)
        expected = solaris_sandbox.document_bytes(created.provider_person_id, item.provider_media_id)
        assert hashlib.sha256(received).hexdigest() == hashlib.sha256(expected).hexdigest()
        assert len(received) == item.size


def test_a_session_without_its_person_cannot_be_read(solaris_provider):
    created = solaris_provider.create_session(_request())

    with pytest.raises(ProviderError) as caught:
        solaris_provider.fetch_update(created.provider_session_id)

    assert caught.value.permanent


def test_the_person_read_again_carries_its_screening(solaris_provider, solaris_sandbox):
    created = solaris_provider.create_session(_request())
    person_id = created.provider_person_id
    assert solaris_provider.fetch_person(person_id).screening is None  # not screened yet

    solaris_sandbox.outcome(created.provider_session_id, "successful")
    accepted = solaris_provider.fetch_person(person_id)
    assert accepted.kind == base.PERSON_CHANGED and accepted.provider_person_id == person_id
    assert accepted.screening.possible_match is False and accepted.screening.hits == ()
    assert accepted.raw["risk_classification_status"] == "RISK_ACCEPTED"

    solaris_sandbox.control(
        "POST", f"/persons/{person_id}/changed", {"screening_progress": "POTENTIAL_MATCH"}
    )
    matched = solaris_provider.fetch_person(person_id)
    assert matched.screening.possible_match is True
    [hit] = matched.screening.hits
    assert hit.list_type == base.LIST_OTHER and hit.matched_name == "Anna Schmidt"
    assert matched.raw["screening_progress"] == "POTENTIAL_MATCH"
    assert matched.dedupe_key != accepted.dedupe_key


def test_a_person_deleted_at_solaris_has_nothing_to_read(solaris_provider, solaris_sandbox):
    created = solaris_provider.create_session(_request())
    solaris_sandbox.control("POST", f"/persons/{created.provider_person_id}/deleted")

    assert solaris_provider.fetch_person(created.provider_person_id) is None


# -- configuration ------------------------------------------------------------------------------


def test_the_sandbox_configuration_names_every_variable_to_set(settings):
    problems = SolarisProvider(**provider_options(settings, "solaris")).configuration_problems()

    assert len(problems) == 4
    for variable in ("SOLARIS_API_URL", "SOLARIS_AUTH_URL", "SOLARIS_CLIENT_ID", "SOLARIS_CLIENT_SECRET"):
        assert any(p.startswith(variable) for p in problems), variable


def test_solaris_own_hosts_and_a_real_client_are_ready():
    provider = SolarisProvider(
        api_url="https://api.solarisbank.de",
        auth_url="https://auth.solarisbank.de",
        client_id="partner-client",
        client_secret="partner-secret",
    )
    assert provider.configuration_problems() == []


def test_empty_settings_are_each_named():
    provider = SolarisProvider(api_url="", auth_url="", client_id="", client_secret="")

    problems = provider.configuration_problems()

    assert [p.split(" ")[0] for p in problems] == [
        "SOLARIS_API_URL",
        "SOLARIS_AUTH_URL",
        "SOLARIS_CLIENT_ID",
        "SOLARIS_CLIENT_SECRET",
    ]
    assert all("is empty" in p for p in problems)
