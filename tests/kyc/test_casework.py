"""Case work (issue 12, "Case work that a compliance team expects"): comments, claim next case and
save-and-next, duplicate checks, the side-by-side evidence, one audit entry per case visit, a
readable and searchable audit trail, exports (queue CSV, case file ZIP) and the SLA."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import zipfile
from html import unescape

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from kyc.casework import claims, comments, sla
from kyc.casework.export import case_file_export
from kyc.models import AuditEvent, CaseComment, Media, ReviewReason, VerificationSession
from kyc.services import updates
from kyc.services.assignment import case_assign
from kyc.services.reviews import review_propose
from providers.veriff import normalize
from tests.kyc.conftest import decision_body

pytestmark = pytest.mark.django_db


def case_url(session) -> str:
    return f"/admin/kyc/case/{session.pk}/change/"


def action_url(session, action) -> str:
    return f"/admin/kyc/case/{session.pk}/do/{action}/"


def queued(session, hours_ago: float) -> VerificationSession:
    """Put the case in the queue `hours_ago` hours ago (the SLA clock's start)."""
    VerificationSession.objects.filter(pk=session.pk).update(
        queued_at=timezone.now() - dt.timedelta(hours=hours_ago)
    )
    session.refresh_from_db()
    return session


def with_digests(session) -> list[Media]:
    """store_media leaves sha256 blank; the download pipeline records it: so do we here."""
    rows = list(session.media.all())
    for media in rows:
        with media.file.open("rb") as fh:
            media.sha256 = hashlib.sha256(fh.read()).hexdigest()
        Media.objects.filter(pk=media.pk).update(sha256=media.sha256)
    return rows


# --- comments ------------------------------------------------------------------------------------
def test_a_comment_is_added_to_the_thread_and_audited_without_its_words(client, make_case, analyst):
    session = make_case("declined")
    client.force_login(analyst)
    response = client.post(
        action_url(session, "comment"), {"body": "  Called the customer: new passport coming.  "}
    )
    assert response.status_code == 302
    comment = CaseComment.objects.get()
    assert (comment.body, comment.author, comment.session, comment.customer) == (
        "Called the customer: new passport coming.",
        analyst,
        session,
        session.customer,
    )
    entry = AuditEvent.objects.get(action="case.commented")
    assert (entry.actor, entry.session_id, entry.object_id) == (analyst, session.pk, str(comment.pk))
    assert "passport" not in json.dumps(entry.after)
    page = client.get(case_url(session)).content.decode()
    assert "Called the customer: new passport coming." in page and 'id="comments"' in page


def test_a_comment_is_never_edited_nor_deleted(make_case, analyst):
    session = make_case("declined")
    comment = comments.case_comment_add(session_id=session.pk, body="first words", actor=analyst)
    comment.body = "other words"
    with pytest.raises(PermissionError):
        comment.save()
    with pytest.raises(PermissionError):
        comment.delete()
    assert CaseComment.objects.get().body == "first words"


def test_an_empty_or_too_long_comment_is_refused_and_what_was_typed_is_kept(client, make_case, analyst):
    session = make_case("declined")
    client.force_login(analyst)
    response = client.post(action_url(session, "comment"), {"body": "   "})
    assert response.status_code == 400 and "Write a comment first" in response.content.decode()
    long_text = "x" * (comments.COMMENT_MAX_LENGTH + 1)
    response = client.post(action_url(session, "comment"), {"body": long_text})
    page = response.content.decode()
    assert response.status_code == 400 and "at most 5000 characters" in page and long_text in page
    assert not CaseComment.objects.exists()
    assert not AuditEvent.objects.filter(action="case.commented").exists()


def test_an_auditor_cannot_comment(client, make_case, auditor):
    session = make_case("declined")
    client.force_login(auditor)
    assert client.post(action_url(session, "comment"), {"body": "hello"}).status_code == 403
    with pytest.raises(PermissionDenied):  # the service checks the permission itself too
        comments.case_comment_add(session_id=session.pk, body="hello", actor=auditor)
    assert not CaseComment.objects.exists()


# --- claim next, save and go to next -------------------------------------------------------------
def test_claim_next_takes_the_oldest_unassigned_case(make_case, analyst, analyst2):
    newest = queued(make_case("declined"), 1)
    oldest_taken = queued(make_case("declined"), 50)
    oldest_free = queued(make_case("review"), 30)
    middle = queued(make_case("declined"), 10)
    case_assign(session_id=oldest_taken.pk, assignee=analyst2, actor=analyst2)

    claimed = claims.case_claim_next(actor=analyst)
    assert claimed.pk == oldest_free.pk and claimed.assignee == analyst
    assert AuditEvent.objects.filter(action="case.assigned", session=oldest_free, actor=analyst).exists()
    assert claims.case_claim_next(actor=analyst).pk == middle.pk
    assert claims.case_claim_next(actor=analyst).pk == newest.pk
    assert claims.case_claim_next(actor=analyst) is None
    oldest_taken.refresh_from_db()
    assert oldest_taken.assignee == analyst2  # never taken from someone else


def test_claim_next_skips_overrides_the_user_may_not_confirm(make_case, analyst, supervisor, supervisor2):
    reason = ReviewReason.objects.get(code="other")
    override = queued(make_case("declined"), 40)
    review_propose(session_id=override.pk, outcome="approve", reason=reason, note="x", actor=supervisor)
    VerificationSession.objects.filter(pk=override.pk).update(assignee=None)
    plain = queued(make_case("declined"), 5)
    assert claims.case_claim_next(actor=analyst).pk == plain.pk  # an analyst cannot confirm
    assert claims.case_claim_next(actor=supervisor) is None  # four-eyes: not their own override
    assert claims.case_claim_next(actor=supervisor2).pk == override.pk


def test_claim_next_needs_the_permission_to_work_cases(client, make_case, auditor):
    queued(make_case("declined"), 5)
    client.force_login(auditor)
    assert client.post("/admin/kyc/case/claim-next/").status_code == 403
    assert not VerificationSession.objects.filter(assignee__isnull=False).exists()


def test_the_queue_button_claims_and_opens_the_next_case(client, make_case, analyst):
    case = queued(make_case("declined"), 5)
    client.force_login(analyst)
    page = client.get("/admin/kyc/case/").content.decode()
    assert 'id="claim-next"' in page
    assert client.get("/admin/kyc/case/claim-next/").status_code == 405  # a POST only
    response = client.post("/admin/kyc/case/claim-next/")
    assert response.status_code == 302 and response["Location"] == case_url(case)
    response = client.post("/admin/kyc/case/claim-next/", follow=True)
    assert response.redirect_chain[-1][0] == "/admin/kyc/case/"
    assert "No unassigned case is left to claim." in response.content.decode()


def test_save_and_go_to_next_records_the_decision_and_opens_the_next_case(client, make_case, analyst):
    first = queued(make_case("declined"), 30)
    second = queued(make_case("declined"), 20)
    case_assign(session_id=first.pk, assignee=analyst, actor=analyst)
    client.force_login(analyst)
    reason = ReviewReason.objects.get(code="suspected-fraud")
    data = {"outcome": "decline", "reason": reason.pk, "note": "Forged.", "and_next": "1"}
    response = client.post(action_url(first, "propose"), data)
    assert response.status_code == 302 and response["Location"] == case_url(second)
    assert first.reviews.get().outcome == "decline"
    second.refresh_from_db()
    assert second.assignee == analyst
    # Bad input: the decision is not recorded, and the user stays on the case with the error.
    response = client.post(action_url(second, "propose"), {"outcome": "decline", "note": "", "and_next": "1"})
    assert response.status_code == 400 and not second.reviews.exists()


# --- duplicates -----------------------------------------------------------------------------------
def test_another_customer_with_the_same_document_number_is_shown_with_a_link(client, make_case, supervisor):
    mine = make_case("declined", document={"type": "PASSPORT", "number": "X7654321", "country": "GB"})
    other = make_case(
        "approved", first_name="Tom", last_name="Other", document={"type": "PASSPORT", "number": "x7654321"}
    )
    unrelated = make_case("approved", document={"type": "PASSPORT", "number": "Z0000001"})
    client.force_login(supervisor)
    page = client.get(case_url(mine)).content.decode()
    section = page[page.index('id="duplicates"') : page.index('id="decisions"')]
    assert "Same document number" in section and "x7654321" in unescape(section)  # as it reads there
    assert case_url(other) in section and "Tom Other" in section
    assert case_url(unrelated) not in section
    assert 'id="duplicates"' not in client.get(case_url(unrelated)).content.decode()


def test_a_session_the_provider_matched_by_face_is_shown_with_a_link(client, make_case, supervisor):
    other = make_case("approved", first_name="Tom", last_name="Other")
    mine = make_case("review", document={"type": "PASSPORT", "number": "DIFFERENT1"})
    body = json.loads(decision_body(mine, "declined", document={"number": "DIFFERENT1"}))
    body["verification"]["biometricAuthentication"] = {"matchedSessionId": other.provider_session_id}
    updates.session_apply_update(
        provider="veriff", update=normalize.parse_delivery(json.dumps(body).encode())
    )
    client.force_login(supervisor)
    page = client.get(case_url(mine)).content.decode()
    section = page[page.index('id="duplicates"') : page.index('id="decisions"')]
    assert "Same face" in section and other.provider_session_id in section and case_url(other) in section


# --- the evidence: side by side, one audit entry per visit ---------------------------------------
def test_the_document_photo_and_the_selfie_are_shown_large_side_by_side(client, make_case, analyst):
    session = make_case("declined", media=True)
    client.force_login(analyst)
    page = client.get(case_url(session)).content.decode()
    block = page[page.index('id="side-by-side"') :]
    block = block[: block.index("</div>")]
    assert block.index('data-side="document-front"') < block.index('data-side="face"')
    assert 'data-side="document-back"' not in block


def _media_urls(page: str) -> list[str]:
    return [unescape(u) for u in re.findall(r'<img src="([^"]*/content/[^"]*)"', page)]


def test_a_case_visit_is_audited_once_with_the_evidence_it_shows(client, make_case, analyst):
    session = make_case("declined", media=True)
    client.force_login(analyst)
    page = client.get(case_url(session)).content.decode()
    urls = _media_urls(page)
    assert len(urls) >= 3
    for url in urls:  # what the browser fetches for the thumbnails and the side-by-side view
        assert client.get(url).status_code == 200
    assert AuditEvent.objects.filter(action="case.viewed", session=session, actor=analyst).count() == 1
    viewed = AuditEvent.objects.get(action="media.viewed")
    assert viewed.after["via"] == "case page"
    assert sorted(viewed.after["media"]) == sorted(session.media.values_list("pk", flat=True))
    # A direct open of one file (the full-size link, a download) is still audited on its own.
    media = session.media.first()
    assert client.get(f"/admin/kyc/media/{media.pk}/content/").status_code == 200
    assert AuditEvent.objects.filter(action="media.viewed", object_type="kyc.media").count() == 1
    assert AuditEvent.objects.get(action="media.viewed", object_type="kyc.media").object_id == str(media.pk)


def test_a_visit_token_covers_only_its_user_and_its_session(client, make_case, analyst, analyst2):
    session = make_case("declined", media=True)
    other = make_case("declined", media=True)
    client.force_login(analyst)
    url = _media_urls(client.get(case_url(session)).content.decode())[0]
    token = url.split("?", 1)[1]
    before = AuditEvent.objects.filter(action="media.viewed").count()
    client.force_login(analyst2)  # someone else with the same URL
    assert client.get(url).status_code == 200
    client.force_login(analyst)  # the token on another case's file
    other_media = other.media.first()
    assert client.get(f"/admin/kyc/media/{other_media.pk}/content/?{token}").status_code == 200
    assert client.get(f"/admin/kyc/media/{other_media.pk}/content/?visit=forged").status_code == 200
    assert AuditEvent.objects.filter(action="media.viewed").count() == before + 3


def test_a_case_page_view_is_audited_without_media_for_those_who_may_not_see_it(client, make_case, analyst):
    session = make_case("declined", media=True)
    analyst.groups.clear()
    analyst.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_case", "view_verificationsession"])
    )
    analyst = User.objects.get(pk=analyst.pk)
    client.force_login(analyst)
    assert client.get(case_url(session)).status_code == 200
    assert AuditEvent.objects.filter(action="case.viewed", actor=analyst).count() == 1
    assert not AuditEvent.objects.filter(action="media.viewed").exists()


# --- a readable audit trail ----------------------------------------------------------------------
def test_the_audit_trail_reads_in_words_and_usernames(client, make_case, analyst, supervisor):
    session = make_case("declined")
    case_assign(session_id=session.pk, assignee=analyst, actor=supervisor)
    client.force_login(supervisor)
    page = unescape(client.get("/admin/kyc/auditevent/?family=case").content.decode())
    assert "Case assigned" in page and "assignee: none → alice" in page
    assert "{'assignee_id'" not in page and '"assignee_id"' not in page
    assert "Sarah Morgan" in page  # the customer by name, not by id
    timeline = unescape(client.get(case_url(session)).content.decode())
    assert "assignee: none → alice" in timeline


def test_the_audit_trail_is_searched_by_customer_name_or_reference(client, make_case, supervisor):
    mine = make_case("declined", first_name="Wilhelmina", last_name="Quartz")
    other = make_case("declined", first_name="Tom", last_name="Other")
    client.force_login(supervisor)
    for term in ("Wilhelmina Quartz", "quartz", mine.customer.external_ref):
        page = client.get("/admin/kyc/auditevent/", {"q": term}).content.decode()
        assert f"/admin/kyc/customer/{mine.customer_id}/change/" in page, term
        assert f"/admin/kyc/customer/{other.customer_id}/change/" not in page, term
    # The case page's link searches the customer's id: that customer's entries only.
    page = client.get("/admin/kyc/auditevent/", {"q": str(mine.customer_id)}).content.decode()
    assert f"/admin/kyc/customer/{other.customer_id}/change/" not in page
    # The admin's own exact searches still work.
    page = client.get("/admin/kyc/auditevent/", {"q": "customer.created"}).content.decode()
    assert f"/admin/kyc/customer/{other.customer_id}/change/" in page


# --- exports -------------------------------------------------------------------------------------
def _csv(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_queue_csv_has_the_rows_the_queue_shows_and_is_audited(client, make_case, supervisor):
    late = queued(make_case("declined", first_name="=HYPERLINK(1)"), 30)
    fresh = queued(make_case("review"), 1)
    make_case("approved")  # not in the queue
    client.force_login(supervisor)
    rows = _csv(client.get("/admin/kyc/case/export.csv"))
    assert [int(r["case"]) for r in rows] == [late.pk, fresh.pk]  # the queue's order: oldest first
    assert rows[0]["sla"] == "late" and rows[1]["sla"] == "on_time"
    assert rows[0]["customer_name"] == "'=HYPERLINK(1) Morgan"  # no formula for a spreadsheet
    filtered = _csv(client.get("/admin/kyc/case/export.csv", {"sla": "late"}))
    assert [int(r["case"]) for r in filtered] == [late.pk]
    entries = AuditEvent.objects.filter(action="queue.exported").order_by("id")
    assert [e.after["filters"] for e in entries] == [{}, {"sla": "late"}]


def test_an_analyst_may_not_export(client, make_case, analyst):
    session = make_case("declined", media=True)
    client.force_login(analyst)
    assert client.get("/admin/kyc/case/export.csv").status_code == 403
    assert client.get(f"/admin/kyc/case/{session.pk}/export.zip").status_code == 403
    assert 'id="export-case"' not in client.get(case_url(session)).content.decode()
    assert not AuditEvent.objects.filter(action__in=["queue.exported", "case.exported"]).exists()


def test_the_case_file_zip_holds_the_evidence_with_a_manifest_that_matches(
    client, make_case, analyst, auditor
):
    session = make_case("declined", media=True)
    media = with_digests(session)
    comments.case_comment_add(session_id=session.pk, body="Asked for a second document.", actor=analyst)
    client.force_login(auditor)
    response = client.get(f"/admin/kyc/case/{session.pk}/export.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    body = b"".join(response.streaming_content)
    archive = zipfile.ZipFile(io.BytesIO(body))
    manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert sorted(int(r["media_id"]) for r in manifest) == sorted(m.pk for m in media)
    for row in manifest:
        data = archive.read(row["path"])
        assert hashlib.sha256(data).hexdigest() == row["actual_sha256"] == row["stored_sha256"]
        assert row["check"] == "match"
    sums = archive.read("SHA256SUMS").decode().splitlines()
    assert sorted(sums) == sorted(f"{r['actual_sha256']}  {r['path']}" for r in manifest)
    audit = list(csv.DictReader(io.StringIO(archive.read("audit.csv").decode())))
    assert {"customer.created", "session.provider_decision"} <= {r["action"] for r in audit}
    record = json.loads(archive.read("case.json"))
    assert record["customer"]["external_ref"] == session.customer.external_ref
    assert record["comments"][0]["body"] == "Asked for a second document."
    exported = AuditEvent.objects.get(action="case.exported")
    assert exported.actor == auditor and exported.customer_id == session.customer_id
    assert exported.after == {"files": 3, "mismatched": [], "sha256": hashlib.sha256(body).hexdigest()}


def test_the_case_file_reports_evidence_whose_bytes_changed_or_went_missing(make_case, supervisor):
    session = make_case("declined", media=True)
    changed, gone, intact = with_digests(session)
    with open(changed.file.path, "ab") as fh:
        fh.write(b"tampered")
    os.remove(gone.file.path)
    archive_file, name, manifest = case_file_export(customer_id=session.customer_id, actor=supervisor)
    with archive_file:
        names = zipfile.ZipFile(archive_file).namelist()
    checks = {r.media_id: r.check for r in manifest}
    assert checks == {changed.pk: "MISMATCH", gone.pk: "missing", intact.pk: "match"}
    assert not any(f"/{gone.pk}-" in n for n in names)
    assert any(f"/{changed.pk}-" in n for n in names)
    assert name.endswith(".zip") and AuditEvent.objects.get(action="case.exported").after["mismatched"] == [
        changed.pk
    ]


# --- SLA -----------------------------------------------------------------------------------------
def test_late_and_overdue_cases_are_filtered_and_counted(client, make_case, supervisor, settings):
    settings.KYC_DASHBOARD_CACHE_SECONDS = 0
    on_time = queued(make_case("declined"), 2)
    late = [queued(make_case("declined"), h) for h in (25, 71)]
    overdue = [queued(make_case("review"), h) for h in (73, 200, 400)]
    client.force_login(supervisor)

    def listed(state):
        page = client.get("/admin/kyc/case/", {"sla": state, "all": ""}).content.decode()
        return {int(pk) for pk in re.findall(r'name="_selected_action" value="(\d+)"', page)}

    assert listed("late") == {s.pk for s in late}
    assert listed("overdue") == {s.pk for s in overdue}
    assert listed("on_time") == {on_time.pk}
    page = client.get("/admin/").content.decode()
    assert re.search(r'id="kpi-late"><span class="bo-kpi-value">2<', page)
    assert re.search(r'id="kpi-overdue"><span class="bo-kpi-value">3<', page)
    queue = client.get("/admin/kyc/case/?all=").content.decode()
    assert queue.count("bo-sla-overdue") == 3 and queue.count("bo-sla-late") == 2


def test_the_sla_thresholds_are_settings(settings):
    now = timezone.now()
    settings.KYC_SLA_LATE_HOURS, settings.KYC_SLA_OVERDUE_HOURS = 4, 8
    assert sla.sla_state(now - dt.timedelta(hours=3), now) == sla.ON_TIME
    assert sla.sla_state(now - dt.timedelta(hours=5), now) == sla.LATE
    assert sla.sla_state(now - dt.timedelta(hours=9), now) == sla.OVERDUE


# --- erasure ------------------------------------------------------------------------------------
def test_erasure_blanks_the_comments_and_keeps_who_commented_when(make_case, analyst):
    from kyc.operations.erasure import ERASED_NOTE, customer_erase

    session = make_case("declined")
    comment = comments.case_comment_add(
        session_id=session.pk, body="Sarah said she moved to Leeds.", actor=analyst
    )
    report = customer_erase(customer_id=session.customer_id, actor_label="test")
    assert report.comments_redacted == 1
    kept = CaseComment.objects.get()
    assert (kept.body, kept.author, kept.created_at) == (ERASED_NOTE, analyst, comment.created_at)
    assert AuditEvent.objects.get(action="customer.erased").after["comments_redacted"] == 1
    assert customer_erase(customer_id=session.customer_id, actor_label="test").comments_redacted == 0
