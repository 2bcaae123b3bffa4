"""Staff endpoints: review queue, cases, media metadata and audited download."""

import hashlib

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.utils import timezone
from rest_framework.test import APIClient

from kyc.models import AuditEvent, Media, ProviderDecision, VerificationSession
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0fake-jpeg-bytes"


@pytest.fixture
def stored_media(customer):
    session = SessionFactory(customer=customer, status="declined", decided_at=timezone.now())
    media = Media(session=session, provider_media_id="m1", context="document-front", mime_type="image/jpeg")
    media.file.save("m1.jpg", ContentFile(JPEG), save=False)
    media.size, media.sha256, media.state = len(JPEG), hashlib.sha256(JPEG).hexdigest(), Media.State.STORED
    media.save()
    return media


def test_the_review_queue_has_the_cases_that_need_a_person_oldest_first(staff_api):
    from tests.kyc.conftest import decide, ensure_roles_and_reasons

    ensure_roles_and_reasons()
    older = decide(SessionFactory(), "declined")
    newer = decide(SessionFactory(), "review")
    decide(SessionFactory(), "approved")
    SessionFactory(status="started")
    results = staff_api.get("/api/v1/staff/review-queue/").json()["results"]
    assert [c["id"] for c in results] == [str(older.reference), str(newer.reference)]
    assert results[0]["reason_code"] == "102" and results[0]["queued_since"]


def test_a_case_has_its_decisions_explained_and_media(staff_api, stored_media):
    session = stored_media.session
    ProviderDecision.objects.create(
        session=session,
        dedupe_key="d",
        status="declined",
        provider_status="declined",
        code=9102,
        reason_code="103",
    )
    case = staff_api.get(f"/api/v1/staff/cases/{session.reference}/").json()
    assert case["customer"]["external_ref"] == session.customer.external_ref
    [decision] = case["decisions"]
    assert decision["code"] == 9102 and decision["reason_code_explained"].startswith(
        "Person showing the document"
    )
    assert [m["id"] for m in case["media"]] == [stored_media.pk]
    listed = staff_api.get("/api/v1/staff/cases/?status=declined").json()["results"]
    assert [c["id"] for c in listed] == [str(session.reference)]


def test_media_download_returns_the_file_and_is_audited(staff_api, stored_media):
    meta = staff_api.get(f"/api/v1/staff/media/{stored_media.pk}/").json()
    assert meta["sha256"] == hashlib.sha256(JPEG).hexdigest() and meta["mime_type"] == "image/jpeg"
    response = staff_api.get(f"/api/v1/staff/media/{stored_media.pk}/content/", HTTP_ACCEPT="image/jpeg")
    assert response.status_code == 200 and b"".join(response.streaming_content) == JPEG
    assert response["Content-Type"] == "image/jpeg" and response["Cache-Control"] == "private, no-store"
    audit = AuditEvent.objects.get(action="media.viewed")
    assert audit.object_id == str(stored_media.pk) and audit.actor_label.startswith("api-key:")


def test_media_not_stored_yet_is_a_404(staff_api, stored_media):
    Media.objects.filter(pk=stored_media.pk).update(state=Media.State.PENDING)
    response = staff_api.get(f"/api/v1/staff/media/{stored_media.pk}/content/")
    assert response.status_code == 404 and not AuditEvent.objects.filter(action="media.viewed").exists()


def test_a_staff_member_without_the_media_permission_is_refused(stored_media):
    user = get_user_model().objects.create_user("clerk", password="pw-Long-enough-1", is_staff=True)
    # Reads cases (the Auditor's view permissions) but not the evidence itself.
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_customer", "view_verificationsession", "view_case"],
            content_type__app_label="kyc",
        )
    )
    client = APIClient()
    client.force_login(user)
    assert client.get(f"/api/v1/staff/cases/{stored_media.session.reference}/").status_code == 200
    response = client.get(f"/api/v1/staff/media/{stored_media.pk}/content/")
    assert response.status_code == 403 and not AuditEvent.objects.filter(action="media.viewed").exists()
    user.user_permissions.add(Permission.objects.get(codename="view_media"))
    user = get_user_model().objects.get(pk=user.pk)
    client.force_login(user)
    response = client.get(f"/api/v1/staff/media/{stored_media.pk}/content/")
    assert response.status_code == 200
    assert AuditEvent.objects.get(action="media.viewed").actor == user


def test_a_missing_case(staff_api):
    assert staff_api.get(f"/api/v1/staff/cases/{VerificationSession().reference}/").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/staff/review-queue/?status=declined&status=review",
        "/api/v1/staff/cases/?status=declined",
        "/api/v1/verifications/?status=approved",
        "/api/v1/customers/?kyc_status=verified",
    ],
)
def test_status_filters_select_without_distinct(staff_api, url):
    """A filter on a column of the listed rows cannot repeat a row: no SELECT DISTINCT over every
    column (django-filter's default for several choices; 100 ms and more at full size)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.kyc.conftest import decide, ensure_roles_and_reasons

    ensure_roles_and_reasons()
    declined = decide(SessionFactory(), "declined")
    with CaptureQueriesContext(connection) as queries:
        response = staff_api.get(url)
    assert response.status_code == 200
    assert not [q["sql"] for q in queries.captured_queries if "SELECT DISTINCT" in q["sql"]]
    if "review-queue" in url:
        assert [c["id"] for c in response.json()["results"]] == [str(declined.reference)]
