"""The configuration contract (docs/configuration.md): safe defaults only in development."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_settings(**env) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("VERIFF_", "KYC_", "DATABASE_", "CELERY_"))
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", **env})
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.KYC_PROVIDERS['veriff'][1]['api_url'], s.CELERY_TASK_ALWAYS_EAGER, s.KYC_SANDBOX_ENABLED, "
        "s.DATABASES['default']['ENGINE'])"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def test_with_nothing_set_development_runs_on_sqlite_in_process_with_the_sandbox():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "http://127.0.0.1:8000/sandbox/veriff/v1",
        "True",
        "True",
        "django.db.backends.sqlite3",
    ]


def test_production_has_no_default_secret_key():
    result = load_settings(DEBUG="false", ALLOWED_HOSTS="kyc.example.com")
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_production_turns_the_sandbox_off_and_a_real_veriff_needs_its_credentials():
    result = load_settings(
        DEBUG="false",
        ALLOWED_HOSTS="kyc.example.com",
        SECRET_KEY="x" * 50,
        VERIFF_API_URL="https://stationapi.veriff.com/v1",
    )
    assert result.returncode != 0 and "VERIFF_API_KEY" in result.stderr
    result = load_settings(
        DEBUG="false",
        ALLOWED_HOSTS="kyc.example.com",
        SECRET_KEY="x" * 50,
        VERIFF_API_URL="https://stationapi.veriff.com/v1",
        VERIFF_API_KEY="k",
        VERIFF_API_SECRET="s",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/kycdesk",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "https://stationapi.veriff.com/v1",
        "False",
        "False",
        "django.db.backends.postgresql",
    ]


def test_an_unknown_signature_scheme_is_refused():
    result = load_settings(VERIFF_SIGNATURE_SCHEME="md5")
    assert result.returncode != 0 and "VERIFF_SIGNATURE_SCHEME" in result.stderr
