"""Every Veriff outcome end to end: the end user starts over HTTP, the sandbox decides (control
endpoint), its signed webhooks cross the socket, the worker applies them and downloads the media,
and the evidence on disk is byte for byte what the provider serves."""

import pytest

from kyc.models import Attempt
from kyc.services import customers
from tests.support.veriff import (
    evidence_files,
    file_sha256,
    media_path,
    media_stored,
    provider_media,
    provider_media_sha256,
    session_in,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

EVIDENCE_CONTEXTS = {"document-front", "document-back", "face", "video"}


@pytest.mark.parametrize(
    ("outcome", "reason_code", "kyc_status", "code", "has_media"),
    [
        pytest.param("approved", None, "verified", 9001, True, id="approved"),
        pytest.param("declined", 103, "rejected", 9102, True, id="declined"),
        pytest.param("resubmission_requested", 202, "action_required", 9103, True, id="resubmission"),
        pytest.param("review", None, "in_review", 9121, True, id="review"),
        pytest.param("abandoned", None, "action_required", 9104, False, id="abandoned"),
        pytest.param("expired", None, "action_required", 9104, False, id="expired"),
    ],
)
def test_outcome_reaches_session_customer_and_evidence_on_disk(
    end_user, sandbox, outcome, reason_code, kyc_status, code, has_media
):
    customer = customers.customer_create(
        external_ref=f"IT-OUTCOME-{outcome}", first_name="Maria", last_name="Tamm", country="EE"
    )
    session = end_user.start(customer.pk)
    hosted_url = end_user.wait_for_hosted_url(session)
    session.refresh_from_db()
    assert hosted_url == session.hosted_url and session.provider_session_id

    if outcome == "expired":
        # The 7-day rule run now: the user never opened the link, so "expired", not "abandoned".
        body = sandbox.expire(session.provider_session_id)
    else:
        body = sandbox.decide(session.provider_session_id, outcome, reason_code)
    assert body["verification"]["status"] == outcome

    session = session_in(session.pk, outcome)
    assert session.customer.kyc_status == kyc_status
    decision = session.decisions.get()
    assert (decision.status, decision.code, decision.applied) == (outcome, code, True)
    assert decision.reason_code == (str(reason_code) if reason_code else "")
    assert decision.raw["verification"]["id"] == session.provider_session_id

    listed = provider_media(session.provider_session_id)
    if has_media:
        assert {item.context for item in listed} == EVIDENCE_CONTEXTS
    else:
        assert listed == []  # expired: never arrived; abandoned: left before submitting
    rows = media_stored(session, {item.provider_media_id for item in listed})

    by_id = {item.provider_media_id: item for item in listed}
    for media in rows:
        path = media_path(media)
        assert path.is_file(), f"{media.context}: {path} is missing"
        on_disk = file_sha256(path)
        assert on_disk == media.sha256, f"{media.context}: the recorded SHA-256 is not the file's"
        assert on_disk == provider_media_sha256(media.provider_media_id), (
            f"{media.context}: the stored file differs from what the provider serves"
        )
        assert path.stat().st_size == media.size
        assert media.mime_type == by_id[media.provider_media_id].mime_type
        assert media.attempt.provider_attempt_id == by_id[media.provider_media_id].attempt_id
    # Nothing but the evidence in the session's folder: no partial downloads, no second copies.
    assert evidence_files(session) == sorted(m.file.name for m in rows)
    if has_media:
        assert Attempt.objects.filter(session=session).count() == 1
