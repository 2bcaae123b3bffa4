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


def test_staff_make_backup_codes_and_sign_in_with_one(chromium, live_server, settings, results_dir):
    settings.KYC_STAFF_2FA_REQUIRED = True
    base = live_server.url
    ensure_roles_and_reasons()
    user = User.objects.create_user("alice", "alice@example.com", PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Analyst"))
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)

    page = password_step(chromium, base)
    assert "backup codes" in page.inner_text("#content-main")
    page.fill("#id_token", f"{TOTP(device.bin_key).token():06d}")
    page.click("#otp-form input[type=submit]")
    page.wait_for_url(f"{base}/admin/kyc/case/")
    page.click("#user-tools a:has-text('Backup codes')")
    page.wait_for_url(f"{base}/admin/two-factor/backup-codes/")
    assert "no backup codes yet" in page.inner_text("#content-main")
    page.click("#backup-codes-form input[type=submit]")
    page.wait_for_selector("#backup-codes")
    page.screenshot(path=str(results_dir / "backup-codes.png"), full_page=True)
    codes = [li.strip() for li in page.locator("#backup-codes li").all_inner_texts()]
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{4} [a-z2-7]{4}", c) for c in codes)
    page.goto(f"{base}/admin/two-factor/backup-codes/")  # shown once: a GET never shows them
    assert page.locator("#backup-codes").count() == 0
    assert "10 backup codes left" in page.inner_text("#content-main")

    # The phone is lost: a backup code, copied as shown, stands in for the app's code, once.
    page = password_step(chromium, base)
    page.fill("#id_token", codes[0])
    page.click("#otp-form input[type=submit]")
    page.wait_for_url(f"{base}/admin/kyc/case/")
    page = password_step(chromium, base)
    page.fill("#id_token", codes[0])
    page.click("#otp-form input[type=submit]")
    assert "not right" in page.inner_text(".errornote")
    assert AuditEvent.objects.filter(action="staff.backup_codes_generated", actor=user).count() == 1
