"""The walking-skeleton back-office: start a verification, see a case, view media only with
permission, every view audited; domain records are read-only."""

import io

import pytest
import responses
from django.contrib.auth.models import Permission, User
from django.core.files.base import ContentFile
from PIL import Image

from kyc.models import AuditEvent, Customer, Media, VerificationSession
from tests.factories import SessionFactory
from tests.fake_provider import DOTTED
from tests.providers_config import veriff_options, with_provider

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def superuser():
    return User.objects.create_superuser("boss", "boss@example.com", "pw-boss-123")


@pytest.fixture
def stored_media():
    session = SessionFactory()
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (200, 30, 30)).save(out, "PNG")
    media = Media(
        session=session,
        provider_media_id="m1",
        context="document-front",
        mime_type="image/png",
        state=Media.State.STORED,
        size=len(out.getvalue()),
    )
    media.file.save("evidence/test/m1.png", ContentFile(out.getvalue()), save=False)
    media.save()
    return media


def test_staff_start_a_verification_from_the_customer_list(client, superuser, customer, settings):
    client.force_login(superuser)
    with responses.RequestsMock() as veriff:
        veriff.post(
            f"{veriff_options(settings).api_url}/sessions",
            status=201,
            json={
                "status": "success",
                "verification": {
                    "id": "0b7f6c1e-0000-4000-8000-000000000001",
                    "url": "https://magic.veriff.me/v/t",
                    "status": "created",
                },
            },
        )
        response = client.post(
            "/admin/kyc/customer/",
            {"action": "start_verification", "_selected_action": [customer.pk]},
            follow=True,
        )
    assert b"Started 1 verification" in response.content
    session = VerificationSession.objects.get()
    assert session.provider_session_id == "0b7f6c1e-0000-4000-8000-000000000001"
    assert session.created_by == superuser
    assert AuditEvent.objects.filter(action="session.created", actor=superuser).exists()


def only_veriff(settings):
    # Development enables Solaris beside Veriff; these tests need one provider to start from.
    settings.KYC_PROVIDERS = {k: v for k, v in settings.KYC_PROVIDERS.items() if k == "veriff"}


def test_the_provider_is_offered_only_when_more_than_one_is_enabled(client, superuser, customer, settings):
    client.force_login(superuser)
    only_veriff(settings)
    page = client.get("/admin/kyc/customer/").content.decode()
    assert 'name="provider"' not in page  # one provider: nothing to choose
    with_provider(settings, "tiny", DOTTED)
    page = client.get("/admin/kyc/customer/").content.decode()
    assert 'name="provider"' in page and '<option value="tiny">Tiny</option>' in page
    response = client.post(
        "/admin/kyc/customer/",
        {"action": "start_verification", "_selected_action": [customer.pk], "provider": "tiny"},
        follow=True,
    )
    assert b"Started 1 verification" in response.content
    session = VerificationSession.objects.get()
    assert session.provider == "tiny" and session.provider_session_id == f"tiny-{session.reference}"


def test_a_provider_not_enabled_starts_nothing(client, superuser, customer, settings):
    client.force_login(superuser)
    only_veriff(settings)  # no choice offered: the posted name is checked by the action
    response = client.post(
        "/admin/kyc/customer/",
        {"action": "start_verification", "_selected_action": [customer.pk], "provider": "tiny"},
        follow=True,
    )
    assert b"is not an enabled provider" in response.content
    assert not VerificationSession.objects.exists()


def test_a_provider_not_among_those_offered_starts_nothing(client, superuser, customer, settings):
    client.force_login(superuser)
    assert len(settings.KYC_PROVIDERS) > 1  # a choice is offered: the action form checks it
    response = client.post(
        "/admin/kyc/customer/",
        {"action": "start_verification", "_selected_action": [customer.pk], "provider": "tiny"},
        follow=True,
    )
    assert response.status_code == 200
    assert not VerificationSession.objects.exists()


def test_staff_create_a_customer_through_the_service(client, superuser):
    client.force_login(superuser)
    response = client.post(
        "/admin/kyc/customer/add/",
        {
            "external_ref": "EXT-9",
            "first_name": "Ana",
            "last_name": "Lyst",
            "email": "ana@example.com",
            "country": "ee",
            "sessions-TOTAL_FORMS": 0,
            "sessions-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302
    customer = Customer.objects.get(external_ref="EXT-9")
    assert customer.country == "EE"
    assert AuditEvent.objects.filter(action="customer.created", customer=customer, actor=superuser).exists()


def test_case_page_shows_the_media_through_the_audited_view(client, superuser, stored_media):
    client.force_login(superuser)
    page = client.get(f"/admin/kyc/verificationsession/{stored_media.session.pk}/change/")
    content_url = f"/admin/kyc/media/{stored_media.pk}/content/"
    assert page.status_code == 200 and content_url.encode() in page.content
    response = client.get(content_url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert {"private", "no-store"} <= {part.strip() for part in response["Cache-Control"].split(",")}
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    # The page's visit is one entry naming the files it shows; the direct open is one more.
    visit = AuditEvent.objects.get(action="media.viewed", object_type="kyc.verificationsession")
    assert visit.after["media"] == [stored_media.pk]
    viewed = AuditEvent.objects.get(action="media.viewed", object_type="kyc.media")
    assert (viewed.actor, viewed.object_id, viewed.session_id) == (
        superuser,
        str(stored_media.pk),
        stored_media.session_id,
    )


def test_media_is_refused_without_the_view_media_permission(client, stored_media):
    staff = User.objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_verificationsession"))
    client.force_login(staff)
    assert client.get(f"/admin/kyc/media/{stored_media.pk}/content/").status_code == 404
    assert not AuditEvent.objects.filter(action="media.viewed").exists()


def test_media_is_refused_to_anonymous_and_has_no_public_url(client, stored_media, settings):
    response = client.get(f"/admin/kyc/media/{stored_media.pk}/content/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.get(f"/{settings.MEDIA_URL}{stored_media.file.name}").status_code == 404
    assert client.get(f"/media/{stored_media.file.name}").status_code == 404


def test_domain_records_cannot_be_changed_or_deleted_in_the_admin(client, superuser, stored_media):
    client.force_login(superuser)
    session = stored_media.session
    client.post(f"/admin/kyc/verificationsession/{session.pk}/change/", {"status": "approved"})
    session.refresh_from_db()
    assert session.status == "created"
    assert client.post(f"/admin/kyc/verificationsession/{session.pk}/delete/").status_code == 403
    assert client.get("/admin/kyc/auditevent/add/").status_code == 403


def test_audit_events_are_append_only():
    event = AuditEvent.objects.create(action="x", actor_label="system")
    event.action = "y"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()


def test_inbound_events_can_be_replayed_from_the_admin(client, superuser, settings):
    from webhooks.models import InboundEvent

    client.force_login(superuser)
    event = InboundEvent.objects.create(
        provider="veriff",
        kind="decision",
        body=b"{}",
        authenticated=True,
        dedupe_key="k",
        state=InboundEvent.State.FAILED,
    )
    response = client.post(
        "/admin/webhooks/inboundevent/", {"action": "replay", "_selected_action": [event.pk]}, follow=True
    )
    assert b"Queued 1 event" in response.content
    event.refresh_from_db()
    # The replay ran in-process: an empty object is not a Veriff delivery, so it fails again, visibly.
    assert event.state == InboundEvent.State.FAILED and event.attempts == 1
    assert "WebhookMalformed" in event.error


def test_health_endpoints(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {
        "database": "ok",
        "broker": "ok",
        "storage": "ok",
    }


def _case_with(media_count: int, decision_count: int) -> VerificationSession:
    from kyc.models import Attempt, ProviderDecision

    session = SessionFactory(status="declined")
    attempt = Attempt.objects.create(session=session, provider_attempt_id="att-1", status="declined")
    for n in range(decision_count):
        ProviderDecision.objects.create(
            session=session,
            attempt=attempt,
            dedupe_key=f"{session.pk}-{n}",
            status="declined",
            provider_status="declined",
            code=9102,
            reason_code="102",
        )
    for n in range(media_count):
        Media.objects.create(session=session, attempt=attempt, provider_media_id=f"m{n}", context="face")
    return session


def test_case_page_costs_the_same_queries_for_one_file_or_many(client, superuser):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(superuser)
    # A first case page fills the process-wide caches (content types) that later pages reuse.
    client.get(f"/admin/kyc/verificationsession/{_case_with(1, 1).pk}/change/")
    counts = []
    for media_count, decision_count in ((1, 1), (8, 3)):
        session = _case_with(media_count, decision_count)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/admin/kyc/verificationsession/{session.pk}/change/").status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_the_customer_list_filters_by_the_countries_in_use_without_a_distinct_on_every_page(
    client, superuser
):
    from django.core.cache import cache

    from kyc.backoffice.filters import CountryFilter

    cache.delete(CountryFilter.CACHE_KEY)
    Customer.objects.create(external_ref="C-EE", first_name="Mari", last_name="Tamm", country="EE")
    Customer.objects.create(external_ref="C-SE", first_name="Greta", last_name="Mock", country="SE")
    Customer.objects.create(external_ref="C-XX", first_name="No", last_name="Country", country="")
    client.force_login(superuser)
    page = client.get("/admin/kyc/customer/").content.decode()
    assert "?country=EE" in page and "?country=SE" in page
    assert "C-EE" in page and "C-SE" in page
    filtered = client.get("/admin/kyc/customer/?country=SE").content.decode()
    assert "C-SE" in filtered and "C-EE" not in filtered
    # The countries come from the cache now: a later page asks the database no DISTINCT.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get("/admin/kyc/customer/")
    assert not [q for q in queries.captured_queries if "DISTINCT" in q["sql"]]


def test_solaris_is_offered_beside_veriff_in_development(client, superuser, settings):
    client.force_login(superuser)
    page = client.get("/admin/kyc/customer/").content.decode()
    assert '<option value="veriff">Veriff</option>' in page
    assert '<option value="solaris">Solaris</option>' in page
