"""API keys: created by command and in the admin (shown once), stored hashed, revocable."""

import hashlib
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from api.models import ApiKey
from kyc.models import AuditEvent

pytestmark = pytest.mark.django_db


def create_key_by_command(*args) -> str:
    out = io.StringIO()
    call_command("create_api_key", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1].split()[-1]


def test_the_command_prints_the_key_as_the_last_word_and_it_works():
    raw = create_key_by_command("web backend", "--scopes", "read,write")
    api_key = ApiKey.objects.get()
    assert (api_key.name, api_key.scopes) == ("web backend", ["read", "write"])
    assert raw.startswith(api_key.prefix)
    # Only the hash is stored.
    assert api_key.hashed_key == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(ApiKey.objects.values().get())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert client.get("/api/v1/customers/").status_code == 200
    assert AuditEvent.objects.filter(action="api_key.created").exists()


def test_the_command_refuses_unknown_scopes():
    with pytest.raises(CommandError, match="scopes must be among"):
        create_key_by_command("x", "--scopes", "read,admin")
    assert not ApiKey.objects.exists()


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-Long-enough-1")
    client.force_login(user)
    return client


def test_the_admin_creates_a_key_and_shows_it_once(admin_client):
    response = admin_client.post(
        "/admin/api/apikey/add/", {"name": "mobile backend", "scopes": ["read", "staff"]}, follow=True
    )
    assert response.status_code == 200
    api_key = ApiKey.objects.get()
    assert api_key.scopes == ["read", "staff"] and api_key.created_by.username == "boss"
    shown = [str(m) for m in response.context["messages"]]
    raw = next(m for m in shown if "API key is" in m).split("<code>")[1].split("</code>")[0]
    assert hashlib.sha256(raw.encode()).hexdigest() == api_key.hashed_key
    page = admin_client.get(f"/admin/api/apikey/{api_key.pk}/change/")
    assert raw not in page.content.decode() and api_key.prefix in page.content.decode()


def test_the_admin_revokes_a_key_and_it_stops_working(admin_client, make_key):
    raw = make_key("read")
    api_key = ApiKey.objects.get()
    response = admin_client.post(
        "/admin/api/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]}, follow=True
    )
    assert response.status_code == 200
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None and api_key.revoked_by.username == "boss"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert client.get("/api/v1/customers/").status_code == 401
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


def test_a_key_records_when_it_was_last_used(make_key):
    raw = make_key("read")
    assert ApiKey.objects.get().last_used_at is None
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    client.get("/api/v1/customers/")
    assert ApiKey.objects.get().last_used_at is not None
