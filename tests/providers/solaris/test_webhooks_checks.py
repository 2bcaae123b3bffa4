"""Solaris's start-up check and the back-office: a missing sealing key stops start-up; no page
shows a subscription's secret."""

import pytest
from cryptography.fernet import Fernet
from django.contrib import admin

from providers.solaris.checks import webhook_secrets_sealable
from providers.solaris.models import WebhookSubscription
from tests.providers_config import with_options


def test_no_sealing_key_is_a_start_up_error_naming_the_variable(settings):
    assert webhook_secrets_sealable() == []
    with_options(settings, "solaris", webhook_secret_keys=[])
    [error] = webhook_secrets_sealable()
    assert error.id == "solaris.E001" and "SOLARIS_WEBHOOK_SECRET_KEYS" in error.msg
    with_options(settings, "solaris", webhook_secret_keys=[Fernet.generate_key().decode()])
    assert webhook_secrets_sealable() == []


def test_the_check_is_silent_when_solaris_is_not_enabled(settings):
    settings.KYC_PROVIDERS = {k: v for k, v in settings.KYC_PROVIDERS.items() if k != "solaris"}
    assert webhook_secrets_sealable() == []


@pytest.mark.django_db
def test_no_admin_page_shows_the_subscriptions_or_their_secrets(admin_client):
    assert WebhookSubscription not in admin.site._registry
    assert admin_client.get("/admin/solaris/").status_code == 404
