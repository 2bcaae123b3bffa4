"""The second step of the staff login: a TOTP code from an authenticator app (django-otp).

A staff member without a device enrols on first sign-in: the page shows a QR code (and the key,
for typing in), and the first correct code confirms the device. Wrong codes are throttled by
django-otp (each failure doubles the wait); a lost device is removed by a superuser in the admin
(TOTP devices), after which the owner enrols again.
"""

from __future__ import annotations

import base64

import segno
from django.contrib import admin
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from kyc.audit import audit_record
from kyc.backoffice.site import safe_next
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
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            error = "Too many wrong codes. Wait a minute, then try again."
        elif token.isdigit() and device.verify_token(token):
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
