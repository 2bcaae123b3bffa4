"""/api/docs/ without a login (issue 12, glitches): a page that links to the sign-in and takes an
API key, not a bare 401; the schema it loads stays closed, and is sent the key typed in."""

import json
import re

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_the_docs_page_without_a_login_links_to_the_sign_in_and_asks_for_a_key(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/admin/login/?next=/api/docs/"' in page
    assert re.search(r'<form id="docs-key-form" data-schema="/api/schema/" data-scheme="ApiKeyAuth"', page)
    assert 'id="docs-key"' in page and "/static/api/docs-key.js" in page
    assert "<script>" not in page and "<style" not in page  # still nothing inline (CSP)
    assert client.get("/api/schema/").status_code == 401  # the description itself stays closed


def test_the_init_script_sends_the_api_key_with_the_schema_request(client):
    script = client.get("/api/docs/?script=").content.decode()
    names = json.loads(re.search(r"const schemaAuthNames = (\[.*?\]);", script, re.S).group(1))
    assert names == ["ApiKeyAuth"]


def test_a_key_typed_in_loads_the_schema(make_key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key('read')}")
    assert api.get("/api/schema/").status_code == 200


def test_signed_in_staff_and_public_docs_get_no_sign_in_panel(client, settings, django_user_model):
    staff = django_user_model.objects.create_user("dev", password="pw-Long-enough-1", is_staff=True)
    client.force_login(staff)
    assert 'id="docs-signin"' not in client.get("/api/docs/").content.decode()
    client.logout()
    settings.KYC_API_DOCS_PUBLIC = True
    assert 'id="docs-signin"' not in client.get("/api/docs/").content.decode()


def test_a_revoked_key_gets_the_sign_in_panel_not_a_bare_401(make_key):
    from api.models import ApiKey

    raw = make_key("read")
    ApiKey.objects.update(revoked_at="2026-01-01T00:00:00Z")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    response = api.get("/api/docs/")
    assert response.status_code == 200 and 'id="docs-signin"' in response.content.decode()
    assert api.get("/api/schema/").status_code == 401
