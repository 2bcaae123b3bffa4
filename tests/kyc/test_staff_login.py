"""Staff sign-in: password, then a TOTP code (required when DEBUG is off, or by setting); failed
passwords are throttled (django-axes)."""

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from kyc.models import AuditEvent

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


def sign_in(client, user, password=None):
    return client.post(
        LOGIN,
        {"username": user.username, "password": password or f"pw-{user.username}-1234", "next": "/admin/"},
        follow=True,
    )


def code_for(device, offset=0):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + offset * device.step
    return f"{totp.token():06d}"


@pytest.fixture
def two_factor(settings):
    settings.KYC_STAFF_2FA_REQUIRED = True


def test_without_the_requirement_a_password_is_enough(client, analyst, settings):
    settings.KYC_STAFF_2FA_REQUIRED = False
    page = sign_in(client, analyst)
    assert page.request["PATH_INFO"] == "/admin/"
    assert b"Review queue" in page.content


def test_the_requirement_follows_debug_by_default(monkeypatch):
    import importlib

    import config.settings as config_settings

    monkeypatch.setenv("DEBUG", "false")
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    monkeypatch.setenv("ALLOWED_HOSTS", "kyc.example.com")
    monkeypatch.delenv("KYC_STAFF_2FA_REQUIRED", raising=False)
    try:
        assert importlib.reload(config_settings).KYC_STAFF_2FA_REQUIRED is True
        monkeypatch.setenv("DEBUG", "true")
        assert importlib.reload(config_settings).KYC_STAFF_2FA_REQUIRED is False
        monkeypatch.setenv("KYC_STAFF_2FA_REQUIRED", "true")
        assert importlib.reload(config_settings).KYC_STAFF_2FA_REQUIRED is True
    finally:
        monkeypatch.undo()
        importlib.reload(config_settings)


def test_first_sign_in_enrols_an_authenticator_then_lets_the_user_in(client, analyst, two_factor):
    page = sign_in(client, analyst)
    assert page.request["PATH_INFO"] == "/admin/two-factor/"
    assert b'class="segno"' in page.content and b"Set up two-factor sign-in" in page.content
    device = TOTPDevice.objects.get(user=analyst, confirmed=False)
    assert client.get("/admin/kyc/case/").status_code == 302  # not in yet

    wrong = client.post(
        "/admin/two-factor/", {"token": "000000" if code_for(device) != "000000" else "111111"}
    )
    assert b"not right" in wrong.content
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()

    done = client.post(
        "/admin/two-factor/", {"token": code_for(device), "next": "/admin/kyc/case/"}, follow=True
    )
    assert done.request["PATH_INFO"] == "/admin/kyc/case/" and done.status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(action="staff.second_factor_enrolled", actor=analyst).exists()


def test_an_enrolled_user_is_asked_for_a_code_and_nothing_works_without_it(
    client, analyst, make_case, two_factor
):
    device = TOTPDevice.objects.create(user=analyst, name="phone", confirmed=True)
    session = make_case("declined")
    page = sign_in(client, analyst)
    assert b"Type the six-digit code" in page.content and b"segno" not in page.content
    # Signed in with the password only: every back-office view and action still refuses.
    assert client.post(f"/admin/kyc/case/{session.pk}/do/assign-me/").status_code == 302
    session.refresh_from_db()
    assert session.assignee is None
    client.post("/admin/two-factor/", {"token": code_for(device)})
    assert client.get("/admin/kyc/case/").status_code == 200
    assert AuditEvent.objects.filter(action="staff.second_factor_verified", actor=analyst).exists()


def test_wrong_codes_are_throttled(client, analyst, two_factor):
    device = TOTPDevice.objects.create(user=analyst, name="phone", confirmed=True)
    sign_in(client, analyst)
    good = code_for(device)
    bad = "000000" if good != "000000" else "111111"
    client.post("/admin/two-factor/", {"token": bad})
    blocked = client.post("/admin/two-factor/", {"token": good})  # right code, but too soon
    assert b"Too many wrong codes" in blocked.content
    assert client.get("/admin/kyc/case/").status_code == 302


def test_the_next_parameter_cannot_send_the_user_elsewhere(client, analyst, two_factor):
    device = TOTPDevice.objects.create(user=analyst, name="phone", confirmed=True)
    sign_in(client, analyst)
    response = client.post("/admin/two-factor/", {"token": code_for(device), "next": "https://evil.example/"})
    assert response["Location"] == "/admin/"


def test_failed_passwords_lock_the_account_out_from_that_address(client, analyst, settings):
    settings.KYC_STAFF_2FA_REQUIRED = False
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = sign_in(client, analyst, password="wrong-password")
    assert response.status_code == 429
    locked = sign_in(client, analyst)  # the right password, now refused
    assert locked.status_code == 429 and b"Too many failed sign-ins" in locked.content
    assert client.get("/admin/").status_code == 302
