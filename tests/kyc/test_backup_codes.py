"""2FA backup codes (django-otp's static tokens): a signed-in staff member generates a set on the
back-office's backup-code page, sees it once, and may type one code in place of the TOTP code at
sign-in, once each. Generating again replaces the set; both are in the audit trail, the codes
never are."""

import json

import pytest
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from kyc import backup_codes
from kyc.models import AuditEvent
from tests.kyc.test_staff_login import code_for, sign_in

pytestmark = pytest.mark.django_db

PAGE = "/admin/two-factor/backup-codes/"


@pytest.fixture
def enrolled(analyst, settings):
    settings.KYC_STAFF_2FA_REQUIRED = True
    TOTPDevice.objects.create(user=analyst, name="phone", confirmed=True)
    return analyst


def signed_in_fully(client, user):
    sign_in(client, user)
    client.post("/admin/two-factor/", {"token": code_for(TOTPDevice.objects.get(user=user))})
    assert client.get("/admin/").status_code == 200


def generate(client) -> list[str]:
    page = client.post(PAGE)
    assert page.status_code == 200
    return list(page.context["codes"])


def shown(code: str) -> bytes:
    return f"{code[:4]} {code[4:]}".encode()  # grouped by four on the page, easier to copy


def sign_out(client):
    client.post("/admin/logout/")


def test_a_staff_member_generates_codes_and_sees_them_once(client, enrolled):
    signed_in_fully(client, enrolled)
    assert f'href="{PAGE}"'.encode() in client.get("/admin/").content  # linked from the header
    before = client.get(PAGE)
    assert before.status_code == 200 and b"no backup codes" in before.content
    assert before["Cache-Control"].startswith("max-age=0") or "no-store" in before["Cache-Control"]

    page = client.post(PAGE)
    codes = page.context["codes"]
    assert len(codes) == backup_codes.CODES_PER_SET == len(set(codes))
    for code in codes:
        assert shown(code) in page.content
    assert "no-store" in page["Cache-Control"] or "private" in page["Cache-Control"]

    again = client.get(PAGE)  # shown once: afterwards only how many are left
    assert not any(shown(code) in again.content or code.encode() in again.content for code in codes)
    assert f"{len(codes)} backup codes left".encode() in again.content

    event = AuditEvent.objects.get(action="staff.backup_codes_generated", actor=enrolled)
    assert event.after == {"codes": len(codes)}
    recorded = json.dumps([event.before, event.after])
    assert not any(code in recorded for code in codes)


def test_a_backup_code_replaces_the_totp_code_once(client, enrolled):
    signed_in_fully(client, enrolled)
    first, second, *_ = generate(client)
    sign_out(client)

    page = sign_in(client, enrolled)
    assert b"backup code" in page.content
    done = client.post("/admin/two-factor/", {"token": first.upper(), "next": "/admin/kyc/case/"})
    assert done.status_code == 302 and done["Location"] == "/admin/kyc/case/"
    queue = client.get("/admin/kyc/case/")
    assert queue.status_code == 200
    assert f"backup code; {backup_codes.CODES_PER_SET - 1} left".encode() in queue.content
    assert client.get("/api/v1/staff/cases/").status_code == 200
    used = (
        AuditEvent.objects.filter(action="staff.second_factor_verified", actor=enrolled).order_by("pk").last()
    )
    assert used.after == {"method": "backup_code", "backup_codes_left": backup_codes.CODES_PER_SET - 1}
    sign_out(client)

    sign_in(client, enrolled)
    reused = client.post("/admin/two-factor/", {"token": first})
    assert reused.status_code == 200 and b"not right" in reused.content
    assert client.get("/admin/kyc/case/").status_code == 302
    assert client.get("/api/v1/staff/cases/").status_code == 401
    StaticDevice.objects.filter(user=enrolled).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )
    # Typed as the page shows it, grouped with a space: still accepted.
    ok = client.post("/admin/two-factor/", {"token": f"{second[:4]} {second[4:]}"})
    assert ok.status_code == 302
    assert backup_codes.backup_codes_left(user=enrolled) == backup_codes.CODES_PER_SET - 2


def test_generating_again_replaces_the_old_set(client, enrolled):
    signed_in_fully(client, enrolled)
    old = generate(client)
    new = generate(client)
    assert not set(old) & set(new)
    assert set(StaticToken.objects.filter(device__user=enrolled).values_list("token", flat=True)) == set(new)
    assert StaticDevice.objects.filter(user=enrolled).count() == 1
    sign_out(client)
    sign_in(client, enrolled)
    assert b"not right" in client.post("/admin/two-factor/", {"token": old[0]}).content
    assert AuditEvent.objects.filter(action="staff.backup_codes_generated", actor=enrolled).count() == 2


def test_a_password_alone_cannot_reach_or_make_backup_codes(client, enrolled):
    sign_in(client, enrolled)
    assert client.get(PAGE).status_code == 302
    assert client.post(PAGE).status_code == 302
    assert not StaticToken.objects.exists()


def test_wrong_backup_codes_are_throttled(client, enrolled):
    signed_in_fully(client, enrolled)
    [good, *_] = generate(client)
    sign_out(client)
    sign_in(client, enrolled)
    client.post("/admin/two-factor/", {"token": "wrongcod"})
    blocked = client.post("/admin/two-factor/", {"token": good})  # right code, but too soon
    assert b"Too many wrong codes" in blocked.content
    assert client.get("/admin/kyc/case/").status_code == 302
    assert backup_codes.backup_codes_left(user=enrolled) == backup_codes.CODES_PER_SET


def test_a_code_is_spent_by_one_of_two_racing_sign_ins(enrolled):
    """The check and the spending are one conditional delete: of two requests that read the same
    unused code, only the one whose delete removed the row is let in."""
    codes = backup_codes.backup_codes_generate(user=enrolled)
    device = StaticDevice.objects.get(user=enrolled)
    assert backup_codes.backup_code_spend(device=device, code=codes[0]) is True
    assert backup_codes.backup_code_spend(device=device, code=codes[0]) is False


def test_enrolment_does_not_accept_a_backup_code(client, analyst, settings):
    settings.KYC_STAFF_2FA_REQUIRED = True
    codes = backup_codes.backup_codes_generate(user=analyst)  # left over from a removed device
    page = sign_in(client, analyst)
    assert b"Set up two-factor sign-in" in page.content
    refused = client.post("/admin/two-factor/", {"token": codes[0]})
    assert b"not right" in refused.content
    assert client.get("/admin/kyc/case/").status_code == 302
