"""The second step of the staff login: a TOTP code from an authenticator app (django-otp), or
one of the staff member's backup codes (kyc.backup_codes) in its place.

A staff member without a device enrols on first sign-in: the page shows a QR code (and the key,
for typing in), and the first correct code confirms the device. Wrong codes are throttled by
django-otp (each failure doubles the wait); a lost device is removed by a superuser in the admin
(TOTP devices), after which the owner enrols again. Backup codes are generated on their own page
(`backup_codes`), from a complete session only.
"""

from __future__ import annotations

import base64

import segno
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from kyc import backup_codes as codes
from kyc.audit import audit_record
from kyc.backoffice.redirects import safe_next
from kyc.staff_session import second_factor_satisfied, staff_password_accepted

DEVICE_NAME = "Authenticator app"


@never_cache
@sensitive_post_parameters("token")
@csrf_protect
def second_factor(request):
    user = request.user
    if not staff_password_accepted(request):
        return redirect("admin:login")
    next_url = safe_next(request, reverse("admin:index"))
    if second_factor_satisfied(request) and user.is_verified():
        return redirect(next_url)

    device = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    enrolling = device is None
    if enrolling:
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first() or TOTPDevice.objects.create(
            user=user, name=DEVICE_NAME, confirmed=False
        )

    error = ""
    if request.method == "POST":
        token = "".join(request.POST.get("token", "").split())
        # Six digits is the app's code; anything else is taken for a backup code (letters and
        # digits, eight of them), which enrolment does not accept: a device comes first.
        backup = None if enrolling or _looks_like_totp(token, device) else codes.backup_device(user=user)
        allowed, _ = (backup or device).verify_is_allowed()
        if not allowed:
            error = "Too many wrong codes. Wait a minute, then try again."
        elif backup is not None:
            if codes.backup_code_verify(device=backup, code=token):
                otp_login(request, backup)
                left = codes.backup_codes_left(user=user)
                audit_record(
                    action="staff.second_factor_verified",
                    actor=user,
                    object=user,
                    after={"method": "backup_code", "backup_codes_left": left},
                )
                messages.warning(
                    request,
                    f"You signed in with a backup code; {left} left. Make a new set on the "
                    "Backup codes page if you are running out.",
                )
                return redirect(next_url)
            error = "That backup code is not right, or was used already."
        elif _looks_like_totp(token, device) and device.verify_token(token):
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            audit_record(
                action="staff.second_factor_enrolled" if enrolling else "staff.second_factor_verified",
                actor=user,
                object=user,
            )
            return redirect(next_url)
        else:
            error = "That code is not right. Check the time on your phone and use the newest code."

    context = {
        **admin.site.each_context(request),
        "title": "Set up two-factor sign-in" if enrolling else "Two-factor sign-in",
        "enrolling": enrolling,
        "error": error,
        "next": next_url,
    }
    if enrolling:
        # Inline SVG: no image request, no third-party QR service, and it works under a strict CSP.
        context["qr_svg"] = mark_safe(segno.make(device.config_url, error="m").svg_inline(scale=4, border=2))  # noqa: S308
        context["secret"] = base64.b32encode(device.bin_key).decode()
    return render(request, "admin/otp.html", context)


def _looks_like_totp(token: str, device: TOTPDevice) -> bool:
    return token.isdigit() and len(token) == device.digits


@never_cache
@require_http_methods(["GET", "POST"])
def backup_codes(request):
    """The staff member's backup codes: how many are left, and a button for a new set, which is
    shown on the answer to that POST and never again. Served through admin_view: a complete
    session only (a password alone cannot mint a second factor)."""
    context = {**admin.site.each_context(request), "title": "Backup codes"}
    if request.method == "POST":
        context["codes"] = codes.backup_codes_generate(user=request.user)
    context["left"] = codes.backup_codes_left(user=request.user)
    return render(request, "admin/otp_backup_codes.html", context)
