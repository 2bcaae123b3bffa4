"""The site's own small pages (issue 12, glitches): "View site" leads somewhere real, every page
names a local favicon (and /favicon.ico answers), and a 403 is the back-office's page saying why."""

import re

import pytest
from django.contrib.staticfiles import finders

from kyc.links import start_token
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ICON = '<link rel="icon" href="/static/favicon.ico">'


def test_view_site_leads_to_a_landing_page_with_the_back_office_and_the_api_docs(client, supervisor):
    client.force_login(supervisor)
    admin_page = client.get("/admin/").content.decode()
    view_site = re.search(r'<a href="([^"]+)">View site</a>', admin_page).group(1)
    page = client.get(view_site)
    assert page.status_code == 200
    assert b'href="/admin/"' in page.content and b'href="/api/docs/"' in page.content


def test_favicon_is_a_local_file_and_its_old_address_answers(client):
    assert finders.find("favicon.ico")
    with open(finders.find("favicon.ico"), "rb") as icon:
        assert icon.read(4) == b"\x00\x00\x01\x00"  # an ICO file
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.ico"


def test_every_kind_of_page_names_the_favicon(client, supervisor, settings):
    settings.KYC_API_DOCS_PUBLIC = True
    pages = [
        client.get("/admin/login/"),
        client.get(f"/verify/start/{start_token(CustomerFactory().pk)}/"),
        client.get("/"),
    ]
    client.force_login(supervisor)
    pages += [client.get("/admin/"), client.get("/api/docs/")]
    for page in pages:
        assert page.status_code == 200
        assert ICON in page.content.decode(), page.request["PATH_INFO"]


def test_a_refused_action_is_the_back_offices_page_naming_the_missing_permission(client, make_case, analyst):
    session = make_case("declined")
    client.force_login(analyst)
    response = client.post(f"/admin/kyc/case/{session.pk}/do/confirm/", {"review": "1"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "KYC Desk back-office" in page and 'id="forbidden-reason"' in page  # the layout
    assert "kyc.confirm_override" in page and "Can confirm" in page  # why
    assert "alice" in page and "Analyst" in page


def test_the_admins_own_refusals_use_the_same_page(client, auditor):
    client.force_login(auditor)
    response = client.get("/admin/kyc/reviewreason/add/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "KYC Desk back-office" in page and "does not have the permission" in page


def test_a_403_under_the_api_stays_json(rf):
    from django.core.exceptions import PermissionDenied

    from api.errors import permission_denied

    response = permission_denied(rf.get("/api/v1/anything/"), PermissionDenied("no"))
    assert response.status_code == 403 and response["Content-Type"] == "application/json"
