"""Solaris's identification statuses → ours: the whole enum, unknown words to review, and every
walk Solaris makes allowed by our status machine."""

import itertools
import re
from pathlib import Path

import pytest

from kyc import status as st
from providers import base
from providers.solaris import normalize

README = Path(normalize.__file__).with_name("README.md")


def test_the_enum_is_the_one_the_readme_lists():
    text = README.read_text()
    listed = re.search(r"The whole enum: (.*?)\(which apply", text, re.S).group(1)
    words = re.findall(r"[a-z_]+", listed)

    assert sorted(words) == sorted(normalize.ENUM)


@pytest.mark.parametrize("provider_status", [*normalize.ENUM, "brand_new_status", "", "SUCCESSFUL"])
def test_every_status_maps_and_only_successful_approves(provider_status):
    status = normalize.status_of(provider_status)

    assert status in base.STATUSES
    assert (status == base.APPROVED) == (provider_status == "successful")
    if provider_status not in normalize.STATUSES:
        assert status == base.REVIEW


def test_the_idnow_statuses_map_as_documented():
    assert normalize.STATUSES == {
        "created": base.CREATED,
        "pending": base.STARTED,
        "pending_successful": base.SUBMITTED,
        "pending_failed": base.SUBMITTED,
        "successful": base.APPROVED,
        "failed": base.DECLINED,
        "expired": base.EXPIRED,
        "aborted": base.ABANDONED,
        "canceled": base.ABANDONED,
    }


@pytest.mark.parametrize(
    "walk",
    [
        ["created", "pending", "pending_successful", "successful"],
        ["created", "pending", "pending_failed", "failed"],
        ["created", "pending", "aborted"],
        ["created", "pending", "expired"],
        ["created", "canceled"],
        ["created", "pending", "canceled"],
        ["created", "pending", "pending_successful", "canceled"],
        ["created", "pending", "something_new"],
    ],
)
def test_each_solaris_walk_is_legal_in_our_status_machine(walk):
    statuses = [normalize.status_of(s) for s in walk]
    for current, new in itertools.pairwise(statuses):
        if current != new:
            assert st.can_transition(current, new), (current, new)


def test_an_identification_hint_gives_its_url_and_a_provisional_decision():
    update = normalize.update_from_identification(
        {
            "id": "9dfe2f4edaa67138be0c0c1cd3a7d849cidt",
            "reference": "TST-ELCCJ",
            "url": "https://go.test.idnow.de/kycdesk/identifications/x",
            "status": "pending_successful",
            "completed_at": None,
            "method": "idnow",
        }
    )

    assert update.status == base.SUBMITTED and update.hosted_url.startswith("https://go.test.idnow.de/")
    assert update.decision.provider_status == "pending_successful"
    assert update.decision.reason.startswith("pending successful (provisional)")


def test_a_notification_is_read_as_a_hint():
    update = normalize.update_from_identification({"id": "i1cidt", "status": "successful"}, hint=True)

    assert update.hint and update.provider_session_id == "i1cidt"


def test_a_failure_reason_is_the_decisions_reason():
    update = normalize.update_from_identification(
        {
            "id": "x" * 32 + "cidt",
            "status": "failed",
            "failure_reason": "Document expired",
            "completed_at": "2021-09-14T18:18:28.000Z",
        }
    )

    assert update.decision.reason == "Document expired"
    assert update.decision.decided_at.isoformat() == "2021-09-14T18:18:28+00:00"


@pytest.mark.parametrize(
    "body", [{}, {"id": "x"}, {"status": "successful"}, {"id": 5, "status": "successful"}]
)
def test_an_identification_without_id_or_status_is_refused(body):
    with pytest.raises(ValueError):
        normalize.update_from_identification(body)


def test_documents_become_media_by_their_type():
    documents = [
        {
            "id": "d1",
            "name": "i_id_front.jpg",
            "content_type": "image/jpeg",
            "document_type": "ID_DOCUMENT",
            "size": 10,
        },
        {"id": "d2", "name": "i_id_back.jpg", "content_type": "image/jpeg", "document_type": "ID_DOCUMENT"},
        {"id": "d3", "name": "i_selfie.png", "content_type": "image/png", "document_type": "FACE"},
        {
            "id": "d4",
            "name": "i_report.pdf",
            "content_type": "application/pdf",
            "document_type": "KYC_REPORT",
        },
        {"id": "d5", "name": "v.mp4", "content_type": "video/mp4", "document_type": "VIDEO"},
        {
            "id": "d6",
            "name": "gone.jpg",
            "content_type": "image/jpeg",
            "document_type": "FACE",
            "deleted": True,
        },
        {"name": "no id"},
    ]

    items = normalize.media_items(documents, "ident")

    assert [(i.provider_media_id, i.context, i.kind) for i in items] == [
        ("d1", "document-front", "image"),
        ("d2", "document-back", "image"),
        ("d3", "face", "image"),
        ("d4", "report", "other"),
        ("d5", "video", "video"),
    ]
    assert items[0].size == 10 and items[1].size is None
    assert {i.attempt_id for i in items} == {"ident"}


def test_a_notifications_own_key_is_kept_on_a_person_update():
    update = normalize.person_update({}, "p1cper", dedupe_key="solaris:webhook:abc")

    assert update.dedupe_key == "solaris:webhook:abc" and update.screening is None and update.raw == {}
