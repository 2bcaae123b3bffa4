"""Back-office fixtures: staff in each role (the groups the migration creates), and cases decided
through the real Veriff normalizer and kyc.services, with stored evidence files."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import json
import uuid

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from kyc.models import Media, VerificationSession
from kyc.services import customers, updates
from providers.veriff import normalize
from tests.factories import SessionFactory

ROLES_MIGRATION = importlib.import_module("kyc.migrations.0006_roles_reasons_audit_chain")
EXPORT_MIGRATION = importlib.import_module("kyc.migrations.0011_case_comments_and_export")


def ensure_roles_and_reasons() -> None:
    """The roles and reasons the data migration made. Tests with transaction=True end with a
    flush that empties every table (the migration's rows too); this puts them back the same way."""
    from django.contrib.auth.models import Permission

    from kyc.models import ReviewReason

    for name, perms in ROLES_MIGRATION.ROLES.items():
        group, created = Group.objects.get_or_create(name=name)
        if created:
            for app_label, codename in perms:
                group.permissions.add(
                    Permission.objects.get(content_type__app_label=app_label, codename=codename)
                )
    app_label, codename = EXPORT_MIGRATION.EXPORT_PERMISSION
    export = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    for group in Group.objects.filter(name__in=EXPORT_MIGRATION.EXPORT_ROLES):
        group.permissions.add(export)
    for position, (code, label, outcome) in enumerate(ROLES_MIGRATION.REASONS):
        ReviewReason.objects.get_or_create(
            code=code, defaults={"label": label, "outcome": outcome, "position": position * 10}
        )


REASON_BY_STATUS = {"declined": 102, "resubmission_requested": 204}
CODE_BY_STATUS = {"approved": 9001, "declined": 9102, "resubmission_requested": 9103, "review": 9121}


def make_staff(username: str, role: str | None) -> User:
    ensure_roles_and_reasons()
    user = User.objects.create_user(username, f"{username}@example.com", f"pw-{username}-1234", is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def analyst(db):
    return make_staff("alice", "Analyst")


@pytest.fixture
def analyst2(db):
    return make_staff("arthur", "Analyst")


@pytest.fixture
def supervisor(db):
    return make_staff("sam", "Supervisor")


@pytest.fixture
def supervisor2(db):
    return make_staff("sofia", "Supervisor")


@pytest.fixture
def auditor(db):
    return make_staff("audrey", "Auditor")


def decision_body(
    session: VerificationSession,
    status: str,
    *,
    reason_code=None,
    person=None,
    document=None,
    decided_at: dt.datetime | None = None,
) -> bytes:
    """A Veriff decision webhook body (providers/veriff/README.md, "Webhooks") for `session`."""
    decided_at = decided_at or timezone.now()
    reason_code = REASON_BY_STATUS.get(status) if reason_code is None else reason_code
    return json.dumps(
        {
            "status": "success",
            "verification": {
                "id": session.provider_session_id,
                "attemptId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{session.provider_session_id}:{status}")),
                "code": CODE_BY_STATUS[status],
                "status": status,
                "reason": "Decided in a test." if reason_code else None,
                "reasonCode": reason_code,
                "person": person
                or {
                    "firstName": "SARAH",
                    "lastName": "MORGAN",
                    "dateOfBirth": "1967-03-30",
                    "nationality": "GB",
                },
                "document": document
                or {"type": "PASSPORT", "number": "P1234567", "country": "GB", "validUntil": "2031-01-01"},
                "vendorData": str(session.reference),
                "decisionTime": decided_at.isoformat().replace("+00:00", "Z"),
            },
        }
    ).encode()


def decide(session: VerificationSession, status: str, **kwargs) -> VerificationSession:
    """Apply a provider decision through the real normalizer and service, as a webhook would."""
    update = normalize.parse_delivery(decision_body(session, status, **kwargs))
    updates.session_apply_update(provider="veriff", update=update)
    session.refresh_from_db()
    return session


def png(colour=(200, 30, 30), size=(320, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def store_media(
    session: VerificationSession, context: str, *, content: bytes | None = None, kind="image"
) -> Media:
    content = content or png()
    media = Media(
        session=session,
        attempt=session.attempts.first(),
        provider_media_id=f"{context}-{uuid.uuid4().hex[:8]}",
        context=context,
        kind=kind,
        mime_type="image/png" if kind == "image" else "video/mp4",
        state=Media.State.STORED,
        size=len(content),
        stored_at=timezone.now(),
    )
    media.file.save(f"evidence/test/{media.provider_media_id}.png", ContentFile(content), save=False)
    media.save()
    return media


@pytest.fixture
def make_case(db):
    """make_case("declined", country="GB") -> a session the provider decided, with its customer."""
    counter = iter(range(1, 100000))

    def make(
        status="declined", *, country="GB", first_name="Sarah", last_name="Morgan", media=False, **kwargs
    ):
        n = next(counter)
        customer = customers.customer_create(
            external_ref=f"CASE-{n:05d}",
            first_name=first_name,
            last_name=last_name,
            email=f"case{n}@example.com",
            date_of_birth=dt.date(1967, 3, 30),
            country=country,
        )
        session = SessionFactory(customer=customer)
        if status:
            decide(session, status, **kwargs)
        if media:
            for context in ("document-front", "document-back", "face"):
                store_media(session, context)
        session.refresh_from_db()
        return session

    return make
