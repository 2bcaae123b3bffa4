"""What the back-office says, said right (issue 12, glitches: misleading words, and an "assign to"
list shown to analysts who cannot use it)."""

import re

import pytest

from kyc.models import ReviewReason
from kyc.services.reviews import review_propose
from providers.registry import get_provider

pytestmark = pytest.mark.django_db


def test_veriff_9121_is_explained_as_a_review_not_maybe_abandoned():
    words = get_provider("veriff").explain_code(9121)
    assert "abandoned" not in words and "another Veriff table" not in words
    assert words.startswith("Review")


def test_a_pending_override_names_the_proposed_outcome_and_the_providers_decision(
    client, make_case, analyst, supervisor
):
    session = make_case("declined")
    review_propose(
        session_id=session.pk,
        outcome="approve",
        reason=ReviewReason.objects.get(code="provider-concern-resolved"),
        note="Same person.",
        actor=analyst,
    )
    client.force_login(supervisor)
    page = client.get(f"/admin/kyc/case/{session.pk}/change/").content.decode()
    assert "instead of the provider's" not in page
    assert re.search(r"Proposed outcome: <strong>approve</strong>, overriding the provider's decision", page)
    assert "(<em>declined</em>)" in page


def test_a_case_held_by_policy_does_not_say_the_providers_decision_stands(client, make_case, supervisor):
    held = make_case("declined")  # declined is reviewed under the default policy
    client.force_login(supervisor)
    page = client.get(f"/admin/kyc/case/{held.pk}/change/").content.decode()
    assert "the provider's decision stands" not in page
    assert 'id="held-for-review"' in page


def test_the_queue_counts_cases_in_words(client, make_case, supervisor):
    for _ in range(3):
        make_case("declined")
    client.force_login(supervisor)
    page = client.get("/admin/kyc/case/").content.decode()
    assert "3 review queue" not in page
    assert re.search(r"\b3 cases\b", page)


def test_an_analyst_sees_no_assign_to_list_a_supervisor_does(client, make_case, analyst, supervisor):
    make_case("declined")
    client.force_login(analyst)
    page = client.get("/admin/kyc/case/").content.decode()
    assert 'name="assignee"' not in page
    assert 'value="assign_to_me"' in page  # the actions an analyst may run are still there
    client.force_login(supervisor)
    page = client.get("/admin/kyc/case/").content.decode()
    assert 'name="assignee"' in page and 'value="assign_to"' in page
