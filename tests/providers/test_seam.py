"""The provider interface carries the other providers' protocols, shown with small fakes
(tests/providers/fakes.py)."""

from __future__ import annotations

import io
import json
import logging
import os
import zipfile
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from kyc import status as st
from kyc import tasks
from kyc.models import AuditEvent, Customer, Media, ProviderAccount, ScreeningResult, VerificationSession
from kyc.operations.polling import poll_due
from kyc.services import provider_sessions, sessions
from providers import base
from providers.base import PersonUpdate, ProviderRateLimited, Screening, ScreeningHit
from tests.providers import fakes
from tests.providers.fakes import PNG, PersonFake
from webhooks.models import InboundEvent
from webhooks.tokens import notification_token_reference

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fakes(settings):
    fakes.use_providers(settings, fakes.FAKES)


def _created(customer, provider: str) -> VerificationSession:
    session = sessions.verification_start(customer=customer, provider=provider, actor_label="test")
    return provider_sessions.session_create_at_provider(session_id=session.pk)


def _post_person(
    client, body: bytes, *, event: str = "IDENTIFICATION", entity: str = "", sub="sub-1", sig=None
):
    headers = {"Fake-Event": event, "Fake-Subscription": sub, "Fake-Signature": sig or PersonFake.sign(body)}
    if entity:
        headers["Fake-Entity"] = entity
    return client.post("/webhooks/personfake/", data=body, content_type="application/json", headers=headers)


# a. Return URL and notification URL ---------------------------------------------------------
def test_the_provider_gets_a_return_url_and_a_notification_url_with_this_sessions_token(customer):
    session = _created(customer, "pullfake")
    (request,) = fakes.CREATED
    assert request.return_url.endswith(f"/verify/return/{session.reference}/")
    url = urlsplit(request.notification_url)
    assert url.path == "/webhooks/pullfake/"
    assert parse_qs(url.query)["token"] == [request.notification_token]
    assert notification_token_reference(provider="pullfake", token=request.notification_token) == str(
        session.reference
    )
    # One session's token is not another provider's.
    assert notification_token_reference(provider="personfake", token=request.notification_token) == ""


def test_a_callback_with_our_token_is_stored_and_one_without_it_is_rejected(
    client, customer, django_capture_on_commit_callbacks
):
    session = _created(customer, "pullfake")
    token = fakes.CREATED[0].notification_token
    body = json.dumps({"id": session.provider_session_id}).encode()
    # The last character changed to one it is not, so the forgery differs from the token in every run.
    forged_token = token[:-1] + ("1" if token[-1] == "0" else "0")
    forged = client.post(
        f"/webhooks/pullfake/?token={forged_token}", data=body, content_type="application/json"
    )
    assert forged.status_code == 401
    with django_capture_on_commit_callbacks(execute=False):
        taken = client.post(f"/webhooks/pullfake/?token={token}", data=body, content_type="application/json")
    assert taken.status_code == 200
    stored = InboundEvent.objects.get(authenticated=True)
    assert stored.provider_session_id == session.provider_session_id
    # The token authenticates; it is never kept in clear.
    assert token not in json.dumps([stored.query, stored.headers])
    assert InboundEvent.objects.get(authenticated=False).state == InboundEvent.State.REJECTED


# b. kept headers ---------------------------------------------------------------------------
def test_a_provider_names_the_headers_kept_with_its_events(
    client, customer, django_capture_on_commit_callbacks
):
    session = _created(customer, "personfake")
    body = json.dumps({"id": session.provider_session_id}).encode()
    with django_capture_on_commit_callbacks(execute=False):
        assert _post_person(client, body).status_code == 200
    headers = InboundEvent.objects.get().headers
    assert headers["Fake-Event"] == "IDENTIFICATION"
    assert (
        headers["Fake-Signature"].startswith("sha256:")
        and PersonFake.sign(body) not in headers["Fake-Signature"]
    )
    assert "Fake-Subscription" not in headers


# c. each provider's answers ------------------------------------------------------------------
def test_each_provider_answers_forged_unknown_malformed_and_ping_deliveries_its_own_way(client, customer):
    body = b'{"id": "x"}'
    assert _post_person(client, body, sig="0" * 64).status_code == 422  # stops Solaris' retries
    unknown = _post_person(client, body, sub="sub-2")
    assert unknown.status_code == 503  # a secret we lack: delivered again once it is set
    kept = InboundEvent.objects.filter(state=InboundEvent.State.REJECTED).order_by("pk")
    assert [e.auth_error.split(":")[0] for e in kept] == ["forged", "unknown_subscription"]
    assert _post_person(client, b"[not json").status_code == 400
    assert InboundEvent.objects.filter(state=InboundEvent.State.MALFORMED).count() == 1
    before = InboundEvent.objects.count()
    assert _post_person(client, b"", event="PING", sub="", sig="-").status_code == 200
    assert InboundEvent.objects.count() == before  # a ping is not stored


# d. person-level facts ---------------------------------------------------------------------
def test_the_providers_person_is_kept_and_given_to_the_next_session(customer):
    first = _created(customer, "personfake")
    account = ProviderAccount.objects.get(customer=customer, provider="personfake")
    assert account.provider_person_id == f"person-{first.reference}"
    VerificationSession.objects.filter(pk=first.pk).update(status=st.EXPIRED)
    _created(customer, "personfake")
    assert fakes.CREATED[1].provider_person_id == account.provider_person_id
    assert ProviderAccount.objects.count() == 1


def test_a_person_deleted_at_the_provider_erases_our_customer(
    client, customer, django_capture_on_commit_callbacks
):
    session = _created(customer, "personfake")
    person = ProviderAccount.objects.get().provider_person_id
    with django_capture_on_commit_callbacks(execute=True):
        assert _post_person(client, b"{}", event="PERSON_DELETED", entity=person).status_code == 200
    customer.refresh_from_db()
    assert customer.erased_at is not None and customer.first_name == ""
    session.refresh_from_db()
    assert session.status == st.ABANDONED
    assert ProviderAccount.objects.get().deleted_at is not None
    assert AuditEvent.objects.filter(action="customer.provider_person_deleted").count() == 1


def test_a_person_changed_is_read_again_and_a_screening_hit_is_kept(
    client, customer, django_capture_on_commit_callbacks
):
    _created(customer, "personfake")
    person = ProviderAccount.objects.get().provider_person_id
    hit = ScreeningHit(list_type=base.LIST_SANCTIONS, matched_name="Sarah Morgan")
    fakes.PERSONS[person] = PersonUpdate(
        person, kind=base.PERSON_CHANGED, dedupe_key="", screening=Screening("fake", True, (hit,))
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert _post_person(client, b"{}", event="PERSON_CHANGED", entity=person).status_code == 200
    assert ScreeningResult.objects.get(customer=customer).matched_name == "Sarah Morgan"
    assert ProviderAccount.objects.get().changed_at is not None


# e. late and per-visit hosted URLs ------------------------------------------------------------
def test_a_hosted_url_that_comes_after_the_session_id_is_used_once_it_comes(
    client, customer, django_capture_on_commit_callbacks
):
    session = _created(customer, "personfake")
    page = f"/verify/s/{session.reference}/"
    assert client.get(page).status_code == 200  # preparing: no URL yet
    assert client.get(f"{page}status/").json()["ready"] is False
    body = json.dumps({"id": session.provider_session_id, "url": "https://idnow.example/x"}).encode()
    with django_capture_on_commit_callbacks(execute=True):
        assert _post_person(client, body).status_code == 200
    assert client.get(page)["Location"] == "https://idnow.example/x"


def test_a_single_use_launch_is_made_afresh_at_each_visit(client, customer):
    session = _created(customer, "pullfake")
    page = f"/verify/s/{session.reference}/"
    assert client.get(f"{page}status/").json()["ready"] is True
    first, second = client.get(page)["Location"], client.get(page)["Location"]
    assert first != second and len(fakes.LAUNCHES) == 2


# f. hints ------------------------------------------------------------------------------------
def test_a_polled_providers_hint_makes_a_fetch_due_and_applies_nothing_itself(
    client, customer, django_capture_on_commit_callbacks
):
    """ShareID's callback: a fetch beside the poller's could break its one-fetch-per-5-s rule, so
    the hint only brings the next poll forward."""
    session = _created(customer, "pullfake")
    fakes.FETCH_ANSWERS.append(fakes.approval(session.provider_session_id))
    body = json.dumps({"id": session.provider_session_id, "reasons": ["forged in the body"]}).encode()
    token = fakes.CREATED[0].notification_token
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/webhooks/pullfake/?token={token}", data=body, content_type="application/json")
    assert answer.status_code == 200
    session.refresh_from_db()
    assert fakes.FETCHED == [] and session.status == st.CREATED
    assert session.poll_next_at is not None and session.poll_next_at <= timezone.now()
    assert InboundEvent.objects.get().state == InboundEvent.State.PROCESSED


def test_a_hint_of_a_provider_not_polled_fetches_the_result_and_applies_the_fetch(
    client, customer, django_capture_on_commit_callbacks
):
    session = _created(customer, "hintfake")
    fakes.FETCH_ANSWERS.append(fakes.approval(session.provider_session_id))
    body = json.dumps({"id": session.provider_session_id, "status": "declined"}).encode()
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/webhooks/hintfake/", data=body, content_type="application/json")
    assert answer.status_code == 200
    session.refresh_from_db()
    assert [session.provider_session_id] == fakes.FETCHED
    assert session.status == st.APPROVED
    assert InboundEvent.objects.get().state == InboundEvent.State.PROCESSED


# g. polling ----------------------------------------------------------------------------------
def test_polling_waits_while_not_ready_and_rate_limited_then_applies_the_result(customer, caplog):
    session = _created(customer, "pullfake")
    fakes.FETCH_ANSWERS.extend(
        [None, ProviderRateLimited(retry_after=30), fakes.approval(session.provider_session_id)]
    )

    def poll_when_due() -> VerificationSession:
        session.refresh_from_db()
        poll_due(now=session.poll_next_at)
        session.refresh_from_db()
        return session

    with caplog.at_level(logging.WARNING):
        assert (poll_when_due().poll_next_at - session.polled_at).total_seconds() == 5  # not ready
        assert (poll_when_due().poll_next_at - session.polled_at).total_seconds() == 30  # too many calls
    assert not caplog.records  # ordinary outcomes, nothing logged
    assert poll_when_due().poll_next_at is None  # decided: polling ends
    assert session.status == st.APPROVED and len(fakes.FETCHED) == 3


def test_polling_starts_with_the_session_in_the_schedule_not_in_a_queued_task(customer):
    session = _created(customer, "pullfake")
    session.refresh_from_db()
    assert session.poll_next_at is not None and not fakes.FETCHED  # first fetch one interval later
    other = _created(customer.__class__.objects.create(external_ref="C-2", country="GB"), "personfake")
    other.refresh_from_db()
    assert other.poll_next_at is None  # a provider that is not polled


# h. inline and archived media ------------------------------------------------------------------
def _stored(session) -> dict[str, Media]:
    return {m.provider_media_id: m for m in Media.objects.filter(session=session)}


def test_inline_media_are_stored_hashed_and_proven_like_downloads(customer, settings):
    session = _created(customer, "pullfake")
    tasks._media_sync(session.pk)
    tasks._media_sync(session.pk)  # listed again: nothing stored twice
    media = _stored(session)
    assert {m.state for m in media.values()} == {Media.State.STORED}
    import hashlib

    assert media["doc_front"].sha256 == hashlib.sha256(PNG + b"front").hexdigest()
    assert media["face_face"].proven_type == "image/png" and media["face_face"].size == len(PNG) + 4
    assert Media.objects.count() == 2
    assert not os.listdir(os.path.join(settings.MEDIA_ROOT, "tmp"))


def test_archived_media_are_taken_from_the_archive_and_a_missing_one_fails_alone(customer, settings):
    session = _created(customer, "archivefake")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("front.png", PNG + b"front")
    fakes.ARCHIVE[session.provider_session_id] = buffer.getvalue()
    tasks._media_sync(session.pk)
    media = _stored(session)
    assert media["front.png"].state == Media.State.STORED and media["front.png"].proven_type == "image/png"
    assert media["selfie.png"].state == Media.State.FAILED
    assert not os.listdir(os.path.join(settings.MEDIA_ROOT, "tmp"))


def test_a_broken_archive_leaves_no_file_and_is_retried(customer, settings):
    session = _created(customer, "archivefake")
    fakes.ARCHIVE[session.provider_session_id] = b"PK not a zip"
    with pytest.raises(base.ProviderError) as raised:
        tasks._media_sync(session.pk)
    assert not raised.value.permanent
    assert {m.state for m in Media.objects.filter(session=session)} == {Media.State.PENDING}
    assert not os.listdir(os.path.join(settings.MEDIA_ROOT, "tmp"))
    assert Customer.objects.count() == 1


def test_try_again_after_a_resubmission_launches_afresh(client, customer):
    session = _created(customer, "pullfake")
    VerificationSession.objects.filter(pk=session.pk).update(status=st.RESUBMISSION_REQUESTED)
    page = client.get(f"/verify/return/{session.reference}/")
    launch = f"/verify/s/{session.reference}/launch/"
    assert f'href="{launch}"'.encode() in page.content
    assert client.get(launch)["Location"].startswith("https://pull.example/sdk?token=")
    assert len(fakes.LAUNCHES) == 1
