"""The back-office admin site: password, then a TOTP code (django-otp) when required; the index
is the dashboard; a header badge shows the queue."""

from __future__ import annotations

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.http import urlencode

from kyc.backoffice import otp
from kyc.backoffice.dashboard import dashboard_context
from kyc.backoffice.redirects import safe_next
from kyc.queue import queue_counts
from kyc.staff_session import (
    second_factor_required,
    second_factor_satisfied,
    staff_password_accepted,
    staff_session_complete,
)


class BackOfficeSite(admin.AdminSite):
    site_header = "KYC Desk back-office"
    site_title = "KYC Desk"
    index_title = "Dashboard"
    enable_nav_sidebar = True

    def has_permission(self, request):
        # The one rule of kyc.staff_session: without the second factor a signed-in staff member is
        # not in yet, and every admin view (admin_view) sends them back to login, which sends them
        # to the code page.
        return staff_session_complete(request)

    def login(self, request, extra_context=None):
        if staff_password_accepted(request) and not second_factor_satisfied(request):
            target = reverse("admin:otp", current_app=self.name)
            return redirect(f"{target}?{urlencode({'next': safe_next(request, reverse('admin:index'))})}")
        return super().login(request, extra_context)

    def get_urls(self):
        return [
            path("two-factor/", otp.second_factor, name="otp"),
            path("two-factor/backup-codes/", self.admin_view(otp.backup_codes), name="otp_backup_codes"),
            *super().get_urls(),
        ]

    def each_context(self, request):
        context = super().each_context(request)
        context["second_factor_required"] = second_factor_required()  # the header's backup-code link
        if (
            request.user.is_authenticated
            and request.user.has_perm("kyc.view_case")
            and self.has_permission(request)
        ):
            context["queue_counts"] = queue_counts()
        return context

    def index(self, request, extra_context=None):
        extra = dict(extra_context or {})
        if request.user.has_perm("kyc.view_case"):
            extra["dashboard"] = dashboard_context()
        return super().index(request, extra)
