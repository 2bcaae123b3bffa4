"""Device monitoring: the start page loads the configured fingerprint script, its form posts what
the script put there, and Solaris (the sandbox) receives it with the identification. The Content
Security Policy allows the script, and nothing more."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from kyc.links import start_url
from kyc.models import VerificationSession

ROOT = Path(__file__).resolve().parents[3]
SANDBOX_SCRIPT = "/static/flow/device-fingerprint-sandbox.js"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def end_user(settings, solaris_sandbox):
    settings.KYC_DEFAULT_PROVIDER = "solaris"
    return Client()


def _start_path(customer) -> str:
    return "/" + start_url(customer.pk).split("/", 3)[3]


def _device_data_at_solaris(solaris_sandbox) -> list:
    session = VerificationSession.objects.get()
    return solaris_sandbox.control("GET", f"/identifications/{session.provider_session_id}")["device_data"]


def test_the_start_page_loads_the_configured_script_beside_the_field_it_fills(end_user, customer, settings):
    settings.KYC_DEVICE_FINGERPRINT_SCRIPT = SANDBOX_SCRIPT

    page = end_user.get(_start_path(customer))

    html = page.content.decode()
    assert f'<script src="{SANDBOX_SCRIPT}"></script>' in html
    assert 'name="device_data" id="device-data"' in html
    # Our own origin: the policy's script-src 'self' allows it.
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert (ROOT / "static" / "flow" / "device-fingerprint-sandbox.js").exists()


def test_the_fingerprint_posted_by_the_start_form_reaches_solaris(
    end_user, customer, solaris_sandbox, settings
):
    settings.KYC_DEVICE_FINGERPRINT_SCRIPT = SANDBOX_SCRIPT

    response = end_user.post(_start_path(customer), {"device_data": "sandbox-device-0a1b2c"})

    assert response.status_code == 302
    assert _device_data_at_solaris(solaris_sandbox) == ["sandbox-device-0a1b2c", "sandbox-device-0a1b2c"]


def test_without_a_script_there_is_nothing_to_send(end_user, customer, solaris_sandbox, settings):
    settings.KYC_DEVICE_FINGERPRINT_SCRIPT = ""
    page = end_user.get(_start_path(customer))
    assert "<script" not in page.content.decode()

    end_user.post(_start_path(customer))

    assert not any(_device_data_at_solaris(solaris_sandbox))


def test_a_vendors_script_on_another_origin_is_allowed_by_the_policy():
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KYC_DEVICE_")},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "KYC_DEVICE_FINGERPRINT_SCRIPT": "https://cdn.seon.io/js/v6/agent.js",
    }
    code = (
        "from django.conf import settings; print(json.dumps(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import json, django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    directives = json.loads(result.stdout.strip().splitlines()[-1])
    assert directives["script-src"] == ["'self'", "https://cdn.seon.io"]
    assert directives["connect-src"] == ["'self'", "https://cdn.seon.io"]
    assert directives["default-src"] == ["'self'"]
