"""Production settings (DEBUG=false): `check --deploy` is clean, secrets come from the environment
or from files, and every page is served with the security headers and the Content-Security-Policy.
"""

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def production_env(**overrides) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VERIFF_", "KYC_", "DATABASE_", "CELERY_", "SECRET_", "DEBUG", "ALLOWED_"))
    }
    clean.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(60),
            "ALLOWED_HOSTS": "kyc.example.com",
            "KYC_PUBLIC_URL": "https://kyc.example.com",
            "VERIFF_API_URL": "https://stationapi.veriff.com/v1",
            "VERIFF_API_KEY": "0b5a1c9e-6c3d-4c57-9a0e-3c1b2d4e5f60",
            "VERIFF_API_SECRET": "production-secret",
            "DATABASE_URL": "postgres://kyc@db.internal:5432/kycdesk",
            "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
        }
    )
    clean.update(overrides)
    return {k: v for k, v in clean.items() if v is not None}


def manage(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def python(code: str, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_pass_check_deploy_without_a_single_warning():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "check_id"),
    [
        ({"KYC_SANDBOX_ENABLED": "true"}, "kyc.W001"),
        ({"VERIFF_API_URL": None}, "kyc.E001"),
        ({"VERIFF_API_URL": None, "KYC_ALLOW_SANDBOX_PROVIDERS": "true"}, "kyc.W002"),
        ({"KYC_PUBLIC_URL": "http://kyc.example.com"}, "kyc.W003"),
        ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
        ({"SESSION_COOKIE_SECURE": "false"}, "security.W012"),
    ],
)
def test_check_deploy_flags_an_unsafe_production_setting(overrides, check_id):
    env = production_env(**overrides)
    if "VERIFF_API_URL" in overrides:
        env.pop("VERIFF_API_KEY")
        env.pop("VERIFF_API_SECRET")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert check_id in result.stderr + result.stdout


# --- a provider on its sandbox or without credentials (issue 11, item 2) ----------------------
WITHOUT_VERIFF = {"VERIFF_API_URL": None, "VERIFF_API_KEY": None, "VERIFF_API_SECRET": None}


def test_production_without_veriff_settings_fails_every_system_check_naming_what_to_set():
    result = manage("check", env=production_env(**WITHOUT_VERIFF))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "kyc.E001" in output
    for name in ("VERIFF_API_URL", "VERIFF_API_KEY", "VERIFF_API_SECRET", "KYC_ALLOW_SANDBOX_PROVIDERS"):
        assert name in output


def test_production_without_veriff_settings_does_not_serve():
    # gunicorn runs no system checks: the app itself must refuse to load.
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", "127.0.0.1:0", "--workers", "1"],
        cwd=ROOT,
        env=production_env(**WITHOUT_VERIFF),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, stderr = server.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.communicate()
        pytest.fail("gunicorn started and served on the sandbox's public credentials")
    assert server.returncode != 0
    assert "VERIFF_API_URL points at the KYC Desk sandbox" in stderr


def test_a_staging_deployment_runs_on_the_sandbox_only_when_it_says_so():
    result = manage("check", env=production_env(**WITHOUT_VERIFF, KYC_ALLOW_SANDBOX_PROVIDERS="true"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_secrets_can_come_from_files(tmp_path):
    (tmp_path / "secret_key").write_text("k" * 60 + "\n")
    (tmp_path / "veriff_secret").write_text("from-a-file\n")
    (tmp_path / "database_url").write_text("postgres://kyc@db.internal:5432/fromfile\n")
    env = production_env(
        SECRET_KEY=None,
        VERIFF_API_SECRET=None,
        DATABASE_URL=None,
        SECRET_KEY_FILE=str(tmp_path / "secret_key"),
        VERIFF_API_SECRET_FILE=str(tmp_path / "veriff_secret"),
        DATABASE_URL_FILE=str(tmp_path / "database_url"),
    )
    result = python(
        "from django.conf import settings as s; "
        "print(s.SECRET_KEY == 'k' * 60, s.KYC_PROVIDERS['veriff'][1]['api_secret'], "
        "s.DATABASES['default']['NAME'])",
        env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "from-a-file", "fromfile"]


def test_previous_webhook_secrets_are_read_as_a_list():
    env = production_env(VERIFF_API_SECRETS_PREVIOUS="old-1,old-2")
    result = python(
        "from django.conf import settings as s; print(s.KYC_PROVIDERS['veriff'][1]['previous_secrets'])", env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['old-1', 'old-2']"


# --- headers on real responses (development settings, same middleware) -------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/admin/login/", "/healthz", "/sandbox/veriff/control/webhooks"])
def test_every_page_carries_a_strict_content_security_policy(client, url):
    response = client.get(url)
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


TEMPLATE_DIRS = [ROOT / "templates", ROOT / "providers"]


def test_no_template_has_an_inline_script_style_or_event_handler():
    import re

    offending = []
    pattern = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)
    for base in TEMPLATE_DIRS:
        for path in base.rglob("*.html"):
            for match in pattern.finditer(path.read_text()):
                offending.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert offending == []
