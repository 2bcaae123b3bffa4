from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    """django.contrib.admin with our site as `admin.site`, so every app's @admin.register lands
    on the back-office site (two-factor login, dashboard)."""

    default_site = "kyc.backoffice.site.BackOfficeSite"
