"""Mounted at /sandbox/shareid/ by config/urls.py when KYC_SANDBOX_ENABLED (providers/shareid/README.md,
"Sandbox"): ShareID's API under flow/…, the hosted SDK page, and control/… for scripts and tests."""

app_name = "shareid_sandbox"

urlpatterns: list = []
