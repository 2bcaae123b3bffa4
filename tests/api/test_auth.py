"""Every endpoint refuses a missing, a revoked and an under-scoped key. The endpoints are read
from the OpenAPI schema, so an endpoint added later is covered without editing this test."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from api.models import ApiKey
from api.permissions import _Scope
from api.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db

PATH_VALUES = {
    "customer_id": "1",
    "external_ref": "CUST-1",
    "verification_id": "3f1c2a9e-5b7d-4e0f-9a61-2c8d7b4e1f00",
    "case_id": "3f1c2a9e-5b7d-4e0f-9a61-2c8d7b4e1f00",
    "event_id": "3f1c2a9e-5b7d-4e0f-9a61-2c8d7b4e1f00",
    "media_id": "1",
    "endpoint_id": "1",
    "review_id": "1",
}


def _operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        url = path
        for name, value in PATH_VALUES.items():
            url = url.replace("{" + name + "}", value)
        assert "{" not in url, f"add a value for the parameter of {path}"
        for method in operations:
            yield pytest.param(method, url, id=f"{method.upper()} {path}")


OPERATIONS = list(_operations())


def _scope_permission(method: str, url: str) -> _Scope:
    match = resolve(url)
    view = match.func.view_class(request=None, kwargs=match.kwargs)
    view.request = type("R", (), {"method": method.upper()})()
    scopes = [p for p in view.get_permissions() if isinstance(p, _Scope)]
    assert len(scopes) == 1, f"{method} {url} must name exactly one scope"
    return scopes[0]


def required_scope(method: str, url: str) -> str:
    return _scope_permission(method, url).scope


def person_only(method: str, url: str) -> bool:
    return getattr(_scope_permission(method, url), "requires_person", False)


def call(client, method, url):
    return getattr(client, method)(url, {}, format="json")


def with_key(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def test_the_schema_lists_the_endpoints():
    assert len(OPERATIONS) >= 20


@pytest.mark.parametrize(("method", "url"), OPERATIONS)
def test_refuses_a_missing_key(method, url):
    response = call(APIClient(), method, url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "url"), OPERATIONS)
def test_refuses_a_revoked_key(method, url):
    api_key, raw = api_key_create(name="old", scopes=list(ApiKey.Scope.values))
    api_key_revoke(api_key=api_key)
    response = call(with_key(raw), method, url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.parametrize(("method", "url"), OPERATIONS)
def test_refuses_a_key_without_the_scope(method, url):
    needed = required_scope(method, url)
    _, raw = api_key_create(name="narrow", scopes=[s for s in ApiKey.Scope.values if s != needed])
    response = call(with_key(raw), method, url)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert needed in response.json()["error"]["message"]


@pytest.mark.parametrize(("method", "url"), OPERATIONS)
def test_a_key_with_the_scope_gets_past_authentication(method, url):
    _, raw = api_key_create(name="right", scopes=[required_scope(method, url)])
    response = call(with_key(raw), method, url)
    if person_only(method, url):  # staff decisions: people only, never a key
        assert response.status_code == 403 and response.json()["error"]["code"] == "person_required"
    else:
        assert response.status_code not in (401, 403), response.content


@pytest.mark.parametrize(("method", "url"), OPERATIONS)
def test_a_staff_member_gets_past_authentication(method, url):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-Long-enough-1")
    client = APIClient()
    client.force_login(user)
    response = call(client, method, url)
    assert response.status_code not in (401, 403), response.content


@pytest.mark.parametrize(("method", "url"), OPERATIONS)
def test_refuses_a_logged_in_user_who_is_not_staff(client, method, url):
    user = get_user_model().objects.create_user("customer", password="pw-Long-enough-1")
    client.force_login(user)
    response = getattr(client, method)(url, {}, content_type="application/json")
    assert response.status_code in (401, 403)


def test_the_schema_needs_credentials_too(make_key):
    # The docs page itself is open and says how to get in (tests/api/test_docs_page.py, issue 12).
    assert APIClient().get("/api/schema/").status_code == 401
    assert with_key(make_key("read")).get("/api/schema/").status_code == 200
    assert with_key(make_key("read")).get("/api/docs/").status_code == 200


@pytest.mark.parametrize("url", ["/healthz", "/readyz"])
def test_health_checks_are_open(client, url):
    assert client.get(url).status_code == 200


def _staff_with(username, *codenames):
    from django.contrib.auth.models import Permission

    staff = get_user_model().objects.create_user(username, password="pw-Long-enough-1", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="kyc", codename__in=codenames)
    )
    return staff


def test_staff_without_permissions_reads_nothing_and_a_read_only_role_writes_nothing(make_key):
    client = APIClient()
    client.force_login(_staff_with("nobody"))
    response = client.get("/api/v1/customers/")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert client.get("/api/v1/staff/review-queue/").status_code == 403
    client.force_login(_staff_with("auditor", "view_customer", "view_verificationsession", "view_case"))
    assert client.get("/api/v1/customers/").status_code == 200
    response = client.post("/api/v1/customers/", {"external_ref": "A-1"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


def test_staff_session_with_csrf(make_key):
    staff = _staff_with("analyst", "view_customer", "view_verificationsession", "view_case", "review_case")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff)
    assert client.get("/api/v1/customers/").status_code == 200
    response = client.post("/api/v1/customers/", {"external_ref": "S-1"}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["error"]["message"]
