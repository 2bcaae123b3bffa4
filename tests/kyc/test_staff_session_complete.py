"""One rule for "a staff session is complete" (password, then the second factor when required),
held by every entry point: the back-office, the REST API (its docs and schema too), /metrics and
the evidence files. A staff member who typed only the password gets what an anonymous visitor
gets."""

import hashlib

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from kyc.models import AuditEvent, Customer, Media
from tests.factories import SessionFactory
from tests.kyc.test_staff_login import code_for, sign_in

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"passport" * 16


@pytest.fixture
def boss(settings):
    settings.KYC_STAFF_2FA_REQUIRED = True
    user = User.objects.create_user(
        "boss", "boss@example.com", "pw-boss-1234", is_staff=True, is_superuser=True
    )
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


@pytest.fixture
def passport(customer):
    session = SessionFactory(customer=customer, status="declined", decided_at=timezone.now())
    media = Media(session=session, provider_media_id="m1", context="document-front", mime_type="image/jpeg")
    media.file.save("m1.jpg", ContentFile(JPEG), save=False)
    media.size, media.sha256, media.state = len(JPEG), hashlib.sha256(JPEG).hexdigest(), Media.State.STORED
    media.save()
    return media


def reads(passport):
    return [
        "/api/v1/customers/",
        f"/api/v1/customers/{passport.session.customer_id}/",
        "/api/v1/staff/cases/",
        f"/api/v1/staff/cases/{passport.session.reference}/",
        "/api/v1/staff/review-queue/",
        f"/api/v1/staff/media/{passport.pk}/",
        f"/api/v1/staff/media/{passport.pk}/content/",
        "/api/schema/",
    ]


def test_a_password_without_the_second_factor_opens_no_entry_point(client, boss, passport):
    page = sign_in(client, boss)
    assert page.request["PATH_INFO"] == "/admin/two-factor/"  # half signed in

    for url in reads(passport):
        response = client.get(url)
        assert response.status_code == 401, url
    # The docs page holds nothing: half signed in, it shows what anyone sees, how to sign in.
    assert 'id="docs-signin"' in client.get("/api/docs/").content.decode()
    refused = client.get("/api/v1/customers/")
    assert "second factor" in refused.json()["error"]["message"]
    created = client.post(
        "/api/v1/customers/",
        {"external_ref": "HALF-1", "first_name": "Eve"},
        content_type="application/json",
    )
    assert created.status_code == 401
    assert not Customer.objects.filter(external_ref="HALF-1").exists()
    assert client.get("/metrics").status_code == 401
    assert client.get(f"/admin/kyc/media/{passport.pk}/content/").status_code == 302
    assert client.get("/admin/kyc/case/").status_code == 302
    assert not AuditEvent.objects.filter(action="media.viewed").exists()


def test_the_same_session_opens_everything_once_the_code_is_typed(client, boss, passport):
    sign_in(client, boss)
    device = TOTPDevice.objects.get(user=boss)
    client.post("/admin/two-factor/", {"token": code_for(device)})

    for url in reads(passport):
        assert client.get(url).status_code == 200, url
    created = client.post(
        "/api/v1/customers/",
        {"external_ref": "FULL-1", "first_name": "Ann"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert client.get("/metrics").status_code == 200
    assert client.get(f"/admin/kyc/media/{passport.pk}/content/").status_code == 200


def test_without_the_requirement_a_password_is_a_complete_session(client, boss, passport, settings):
    settings.KYC_STAFF_2FA_REQUIRED = False
    sign_in(client, boss)
    assert client.get("/api/v1/staff/cases/").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_every_entry_point_asks_the_one_rule(client, boss, passport, monkeypatch):
    """Admin, API and metrics all defer to kyc.staff_session.staff_session_complete: a future
    change to the rule (a stricter factor, a session age) reaches every door at once."""
    from kyc import staff_session

    sign_in(client, boss)
    device = TOTPDevice.objects.get(user=boss)
    client.post("/admin/two-factor/", {"token": code_for(device)})
    monkeypatch.setattr(staff_session, "second_factor_satisfied", lambda request: False)
    assert client.get("/api/v1/staff/cases/").status_code == 401
    assert client.get("/metrics").status_code == 401
    assert client.get("/admin/kyc/case/").status_code == 302
