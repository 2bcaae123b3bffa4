"""Two-factor sign-in in the browser: a staff member without a device enrols from the QR page's
key, and a second sign-in asks for a code. The live stack serves the app with DEBUG on (no second
factor), so this runs the app in-process (pytest-django's live server) with it required."""

import base64
import re

import pytest
from django.contrib.auth.models import Group, User
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from kyc.models import AuditEvent
from tests.kyc.conftest import ensure_roles_and_reasons

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-two-factor-1234"


def password_step(browser, base):
    page = browser.new_context().new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base}/admin/login/?next=/admin/kyc/case/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/two-factor/\?next=.*"))
    return page


def test_staff_enrol_an_authenticator_then_sign_in_with_codes(chromium, live_server, settings):
    settings.KYC_STAFF_2FA_REQUIRED = True
    base = live_server.url
    ensure_roles_and_reasons()
    user = User.objects.create_user("alice", "alice@example.com", PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Analyst"))

    page = password_step(chromium, base)
    assert page.locator(".bo-qr svg").count() == 1  # the QR code, drawn inline
    key = base64.b32decode(page.inner_text(".bo-secret").strip())
    page.goto(f"{base}/admin/kyc/case/")  # not in yet: back to the code page
    page.wait_for_url(re.compile(r".*/admin/two-factor/.*"))
    page.fill("#id_token", f"{TOTP(key).token():06d}")
    page.click("#otp-form input[type=submit]")
    page.wait_for_url(f"{base}/admin/kyc/case/")
    assert "Review queue" in page.inner_text("h1")
    assert TOTPDevice.objects.get(user=user).confirmed

    # Next time: the code page without a QR code; a wrong code is refused.
    page = password_step(chromium, base)
    assert page.locator(".bo-qr").count() == 0
    page.fill("#id_token", "000000" if TOTP(key).token() != 0 else "111111")
    page.click("#otp-form input[type=submit]")
    assert "not right" in page.inner_text(".errornote")
    assert AuditEvent.objects.filter(action="staff.second_factor_enrolled", actor=user).exists()
