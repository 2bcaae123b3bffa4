"""The queue and the case page run the same number of SQL queries whatever the number of rows:
no query per case, per session, per medium or per audit entry."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kyc.models import ReviewReason
from kyc.services.assignment import case_assign
from kyc.services.reviews import review_propose, review_reject
from tests.factories import SessionFactory
from tests.kyc.conftest import decide, store_media

pytestmark = pytest.mark.django_db

STATUSES = ["declined", "review", "resubmission_requested", "approved"]


def add_cases(make_case, n, analyst, supervisor):
    reason = ReviewReason.objects.get(code="other")
    for i in range(n):
        session = make_case(STATUSES[i % 4], country="IR" if i % 4 == 3 else "GB")
        if i % 3 == 0:
            case_assign(session_id=session.pk, assignee=analyst, actor=analyst)
        if i % 5 == 0 and session.status == "declined":
            # Only the assignee decides (issue 12, rule 3).
            review_propose(
                session_id=session.pk,
                outcome="approve",
                reason=reason,
                note="x",
                actor=analyst if i % 3 == 0 else supervisor,
            )


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


def test_the_queue_runs_a_constant_number_of_queries(client, make_case, analyst, supervisor):
    client.force_login(supervisor)
    add_cases(make_case, 10, analyst, supervisor)
    filtered_url = "/admin/kyc/case/?all=&status__exact=declined&q=Morgan&assignee=me"
    # The filters' choices are cached for a while by design: counted with a warm cache every time.
    client.get("/admin/kyc/case/?all=")
    small, page = count_queries(client, "/admin/kyc/case/?all=")
    assert page.content.count(b'class="action-select"') == 10
    small_filtered, _ = count_queries(client, filtered_url)
    add_cases(make_case, 190, analyst, supervisor)
    large, page = count_queries(client, "/admin/kyc/case/?all=")
    assert page.content.count(b'class="action-select"') == 200
    assert large == small, f"{small} queries for 10 cases, {large} for 200"
    large_filtered, _ = count_queries(client, filtered_url)
    assert large_filtered == small_filtered


def test_the_case_page_runs_a_constant_number_of_queries(client, make_case, analyst, supervisor):
    client.force_login(supervisor)
    add_cases(make_case, 10, analyst, supervisor)
    session = make_case("declined", media=True)
    # An entry that names a user: the audit trail's usernames are read in one query, only when
    # some entry names one; the small case has it too, so that both counts include it.
    case_assign(session_id=session.pk, assignee=analyst, actor=supervisor)
    small, _ = count_queries(client, f"/admin/kyc/case/{session.pk}/change/")

    add_cases(make_case, 190, analyst, supervisor)
    # The same customer gets a long history: more sessions, attempts, decisions, media, reviews,
    # and hundreds of audit entries.
    reason = ReviewReason.objects.get(code="other")
    for _ in range(10):
        older = SessionFactory(customer=session.customer, created_by=analyst)
        decide(older, "resubmission_requested")
        decide(older, "declined")
        for context in ("document-front", "document-back", "face"):
            store_media(older, context)
        review = review_propose(
            session_id=older.pk, outcome="approve", reason=reason, note="x", actor=analyst
        )
        # A waiting proposal is never replaced (issue 12, rule 3): rejected before the next one.
        review_reject(review_id=review.pk, actor=supervisor, note="no")
    latest = session.customer.sessions.order_by("-created_at", "-id").first()
    for media in latest.media.all():
        client.get(f"/admin/kyc/media/{media.pk}/content/")  # audit entries
    large, page = count_queries(client, f"/admin/kyc/case/{latest.pk}/change/")
    assert page.content.count(b"bo-tl-review") >= 10
    assert large == small, f"{small} queries for a small case, {large} for a large one"
