"""Every back-office action for every role, by direct POSTs that bypass the page's buttons: the
server refuses what the role may not do, and nothing changes when it does."""

import pytest
from django.contrib.auth.models import User
from django.core import mail

from kyc.models import AuditEvent, Review, ReviewReason, VerificationSession
from kyc.services.reviews import review_propose
from tests.kyc.conftest import make_staff

pytestmark = pytest.mark.django_db


def action_url(session, action):
    return f"/admin/kyc/case/{session.pk}/do/{action}/"


@pytest.fixture
def roles(analyst, supervisor, auditor):
    return {"analyst": analyst, "supervisor": supervisor, "auditor": auditor}


def login(client, user):
    client.force_login(user)
    return client


def propose_data(outcome="decline", code="suspected-fraud", note="Checked the MRZ."):
    return {"outcome": outcome, "reason": ReviewReason.objects.get(code=code).pk, "note": note}


# --- final decisions ------------------------------------------------------------------------------
@pytest.mark.parametrize(("role", "allowed"), [("analyst", True), ("supervisor", True), ("auditor", False)])
def test_propose_a_decision(client, make_case, roles, role, allowed):
    session = make_case("declined")
    response = login(client, roles[role]).post(action_url(session, "propose"), propose_data())
    assert response.status_code == (302 if allowed else 403)
    assert Review.objects.filter(session=session).exists() == allowed


@pytest.mark.parametrize(("role", "allowed"), [("analyst", False), ("supervisor", True), ("auditor", False)])
def test_confirm_an_override(client, make_case, roles, analyst2, role, allowed):
    session = make_case("declined")
    review = review_propose(
        session_id=session.pk,
        outcome="approve",
        reason=ReviewReason.objects.get(code="other"),
        note="x",
        actor=analyst2,
    )
    response = login(client, roles[role]).post(action_url(session, "confirm"), confirm_data(review))
    assert response.status_code == (302 if allowed else 403)
    review.refresh_from_db()
    assert (review.state == "effective") == allowed
    session.customer.refresh_from_db()
    assert session.customer.kyc_status == ("verified" if allowed else "rejected")


@pytest.mark.parametrize(("role", "allowed"), [("analyst", False), ("supervisor", True), ("auditor", False)])
def test_reject_an_override(client, make_case, roles, analyst2, role, allowed):
    session = make_case("declined")
    review = review_propose(
        session_id=session.pk,
        outcome="approve",
        reason=ReviewReason.objects.get(code="other"),
        note="x",
        actor=analyst2,
    )
    response = login(client, roles[role]).post(
        action_url(session, "reject"), {"review": review.pk, "note": "No."}
    )
    assert response.status_code == (302 if allowed else 403)
    review.refresh_from_db()
    assert (review.state == "rejected") == allowed


def confirm_data(review) -> dict:
    # The confirmation step's tick and note (issue 12: never one click).
    return {"review": review.pk, "checked": "yes", "note": "Checked the evidence."}


def test_a_supervisor_cannot_confirm_their_own_override_by_direct_post(client, make_case, supervisor):
    session = make_case("declined")
    login(client, supervisor).post(action_url(session, "propose"), propose_data("approve", "other", "fine"))
    review = Review.objects.get(session=session)
    assert review.state == "awaiting_confirmation"
    response = client.post(action_url(session, "confirm"), confirm_data(review))
    assert response.status_code == 403
    review.refresh_from_db()
    assert review.state == "awaiting_confirmation"


def test_a_review_of_another_case_cannot_be_confirmed_through_this_one(
    client, make_case, analyst, supervisor
):
    session, other = make_case("declined"), make_case("declined")
    review = review_propose(
        session_id=other.pk,
        outcome="approve",
        reason=ReviewReason.objects.get(code="other"),
        note="x",
        actor=analyst,
    )
    response = login(client, supervisor).post(
        action_url(session, "confirm"), confirm_data(review), follow=True
    )
    assert b"not part of this case" in response.content
    review.refresh_from_db()
    assert review.state == "awaiting_confirmation"


def test_bad_input_shows_the_form_again_with_what_was_typed(client, make_case, analyst):
    session = make_case("declined")
    data = propose_data("approve", "suspected-fraud", "My careful note")  # a decline reason
    response = login(client, analyst).post(action_url(session, "propose"), data)
    assert response.status_code == 400
    assert "not a reason to approve" in response.content.decode()
    assert "My careful note" in response.content.decode()
    assert not Review.objects.exists()


# --- assignment -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("role", "allowed"), [("analyst", True), ("supervisor", True), ("auditor", False)])
def test_assign_to_me(client, make_case, roles, role, allowed):
    session = make_case("declined")
    response = login(client, roles[role]).post(action_url(session, "assign-me"))
    assert response.status_code == (302 if allowed else 403)
    session.refresh_from_db()
    assert (session.assignee == roles[role]) == allowed


@pytest.mark.parametrize(("role", "allowed"), [("analyst", False), ("supervisor", True), ("auditor", False)])
def test_assign_to_someone_else(client, make_case, roles, analyst2, role, allowed):
    session = make_case("declined")
    response = login(client, roles[role]).post(action_url(session, "assign"), {"assignee": analyst2.pk})
    assert response.status_code in ((302,) if allowed else (302, 403))
    session.refresh_from_db()
    assert (session.assignee == analyst2) == allowed


def test_an_analyst_cannot_take_a_case_someone_else_holds(client, make_case, analyst, analyst2):
    session = make_case("declined")
    login(client, analyst2).post(action_url(session, "assign-me"))
    response = login(client, analyst).post(action_url(session, "assign-me"), follow=True)
    assert b"assigned to arthur" in response.content
    response = client.post(action_url(session, "unassign"), follow=True)
    session.refresh_from_db()
    assert session.assignee == analyst2


def test_cases_cannot_be_assigned_to_an_auditor(client, make_case, supervisor, auditor):
    session = make_case("declined")
    login(client, supervisor).post(action_url(session, "assign"), {"assignee": auditor.pk})
    session.refresh_from_db()
    assert session.assignee is None


@pytest.mark.parametrize(
    ("role", "action", "changed"),
    [
        ("analyst", "assign_to_me", 2),
        ("supervisor", "assign_to_me", 2),
        ("auditor", "assign_to_me", 0),
        ("analyst", "assign_to", 0),
        ("supervisor", "assign_to", 2),
        ("auditor", "assign_to", 0),
    ],
)
def test_bulk_assignment_from_the_queue(client, make_case, roles, analyst2, role, action, changed):
    cases = [make_case("declined"), make_case("review")]
    login(client, roles[role]).post(
        "/admin/kyc/case/",
        {"action": action, "_selected_action": [c.pk for c in cases], "assignee": analyst2.pk},
    )
    assigned = VerificationSession.objects.filter(
        pk__in=[c.pk for c in cases], assignee__isnull=False
    ).count()
    assert assigned == changed


# --- case actions ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("role", "allowed"), [("analyst", True), ("supervisor", True), ("auditor", False)])
def test_email_the_verification_link(client, make_case, roles, role, allowed):
    session = make_case("declined")
    response = login(client, roles[role]).post(action_url(session, "send-link"))
    assert response.status_code == (302 if allowed else 403)
    assert len(mail.outbox) == (1 if allowed else 0)
    if allowed:
        assert mail.outbox[0].to == [session.customer.email]
        assert "/verify/start/" in mail.outbox[0].body
        sent = AuditEvent.objects.get(action="customer.verification_link_sent")
        assert session.customer.email not in str(sent.after)


@pytest.mark.parametrize(("role", "allowed"), [("analyst", True), ("supervisor", True), ("auditor", False)])
def test_start_a_new_session_after_a_decline(client, make_case, roles, role, allowed, veriff_without_media):
    session = make_case("declined")
    response = login(client, roles[role]).post(action_url(session, "new-session"))
    assert response.status_code == (302 if allowed else 403)
    assert session.customer.sessions.count() == (2 if allowed else 1)


def test_no_new_session_while_the_case_is_still_open(client, make_case, analyst):
    session = make_case("review")
    response = login(client, analyst).post(action_url(session, "new-session"), follow=True)
    assert b"declined or expired" in response.content
    assert session.customer.sessions.count() == 1


@pytest.mark.parametrize(("role", "allowed"), [("analyst", True), ("supervisor", True), ("auditor", False)])
def test_redownload_media(client, make_case, roles, role, allowed):
    session = make_case("declined")
    response = login(client, roles[role]).post(action_url(session, "redownload"))
    assert response.status_code == (302 if allowed else 403)
    assert AuditEvent.objects.filter(action="media.redownload_requested").exists() == allowed


def test_actions_need_post(client, make_case, analyst):
    session = make_case("declined")
    assert login(client, analyst).get(action_url(session, "assign-me")).status_code == 405
    session.refresh_from_db()
    assert session.assignee is None


# --- reading --------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["analyst", "supervisor", "auditor"])
def test_every_role_reads_the_queue_and_the_case_and_sees_the_media(client, make_case, roles, role):
    session = make_case("declined", media=True)
    login(client, roles[role])
    assert client.get("/admin/kyc/case/").status_code == 200
    page = client.get(f"/admin/kyc/case/{session.pk}/change/")
    assert page.status_code == 200
    media = session.media.first()
    assert client.get(f"/admin/kyc/media/{media.pk}/content/").status_code == 200
    assert AuditEvent.objects.filter(
        action="media.viewed", actor=roles[role], object_id=str(media.pk)
    ).exists()


def test_an_auditors_case_page_offers_no_actions(client, make_case, auditor):
    session = make_case("declined")
    page = login(client, auditor).get(f"/admin/kyc/case/{session.pk}/change/").content.decode()
    assert "do/propose/" not in page and "do/assign-me/" not in page and "Read only." in page


def test_staff_without_a_role_see_nothing(client, make_case):
    session = make_case("declined", media=True)
    login(client, make_staff("nobody", None))
    assert client.get("/admin/kyc/case/").status_code == 403
    assert client.get(f"/admin/kyc/case/{session.pk}/change/").status_code == 403
    assert client.post(action_url(session, "assign-me")).status_code == 403
    assert client.get(f"/admin/kyc/media/{session.media.first().pk}/content/").status_code == 404


def test_anonymous_users_are_sent_to_the_login(client, make_case):
    session = make_case("declined")
    response = client.post(action_url(session, "assign-me"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize(("role", "status"), [("analyst", 403), ("supervisor", 200), ("auditor", 200)])
def test_the_audit_log_is_for_supervisors_and_auditors(client, roles, role, status):
    assert login(client, roles[role]).get("/admin/kyc/auditevent/").status_code == status


@pytest.mark.parametrize(("role", "status"), [("analyst", 403), ("supervisor", 403), ("auditor", 200)])
def test_only_auditors_export_the_audit_trail(client, make_case, roles, role, status):
    make_case("declined")
    response = login(client, roles[role]).get("/admin/kyc/auditevent/export.csv")
    assert response.status_code == status
    assert AuditEvent.objects.filter(action="audit.exported").exists() == (status == 200)


def test_nobody_changes_or_deletes_audit_entries_or_reviews_in_the_admin(client, make_case, analyst):
    boss = User.objects.create_superuser("boss", "boss@example.com", "pw-boss-12345")
    session = make_case("declined")
    review = review_propose(
        session_id=session.pk,
        outcome="decline",
        reason=ReviewReason.objects.get(code="other"),
        note="x",
        actor=analyst,
    )
    event = AuditEvent.objects.first()
    login(client, boss)
    assert client.post(f"/admin/kyc/auditevent/{event.pk}/delete/").status_code == 403
    assert client.get("/admin/kyc/auditevent/add/").status_code == 403
    client.post(f"/admin/kyc/auditevent/{event.pk}/change/", {"action": "tampered"})
    assert AuditEvent.objects.get(pk=event.pk).action == event.action
    assert client.post(f"/admin/kyc/review/{review.pk}/delete/").status_code == 403
    assert client.get("/admin/kyc/review/add/").status_code == 403


@pytest.mark.parametrize(
    "action", ["propose", "confirm", "reject", "assign-me", "assign", "unassign", "send-link"]
)
def test_a_refused_action_is_refused_before_the_input_is_even_read(client, make_case, auditor, action):
    session = make_case("declined")
    response = login(client, auditor).post(
        action_url(session, action), {"outcome": "nonsense", "review": "x"}
    )
    assert response.status_code == 403


def test_the_reasons_list_is_maintained_by_those_allowed_and_every_change_is_audited(client, analyst):
    login(client, analyst)
    assert client.get("/admin/kyc/reviewreason/add/").status_code == 403
    boss = User.objects.create_superuser("boss", "boss@example.com", "pw-boss-12345")
    login(client, boss)
    response = client.post(
        "/admin/kyc/reviewreason/add/",
        {
            "code": "address-mismatch",
            "label": "Address does not match",
            "outcome": "decline",
            "active": "on",
            "position": 5,
        },
    )
    assert response.status_code == 302
    reason = ReviewReason.objects.get(code="address-mismatch")
    event = AuditEvent.objects.get(action="review_reason.created", object_id=str(reason.pk))
    assert event.actor == boss and event.after["code"] == "address-mismatch"
    assert client.post(f"/admin/kyc/reviewreason/{reason.pk}/delete/").status_code == 403


def test_the_export_is_audited_without_the_search_text(client, make_case, auditor):
    make_case("declined")
    response = login(client, auditor).get("/admin/kyc/auditevent/export.csv?q=Morgan&family=review")
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[0].startswith("id,created_at,actor_label,action")
    exported = AuditEvent.objects.get(action="audit.exported")
    assert exported.after == {"filters": {"family": "review"}, "searched": True}
