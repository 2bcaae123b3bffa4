"""The back-office is the Django admin, customised; its pieces live in kyc/backoffice/. Importing
them here is what registers them (the admin autodiscovers `kyc.admin`)."""

from kyc.backoffice import audit, queue, records  # noqa: F401
