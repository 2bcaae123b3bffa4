"""Confirming an override is never one click (issue 12, glitches): the case page asks for a tick
and a note, a POST without them changes nothing, and the note is kept with the decision."""

import pytest

from kyc.models import Review, ReviewReason
from kyc.queue import case_detail
from kyc.services.reviews import review_confirm, review_propose

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(make_case, analyst):
    session = make_case("declined")
    review = review_propose(
        session_id=session.pk,
        outcome="approve",
        reason=ReviewReason.objects.get(code="provider-concern-resolved"),
        note="Same person.",
        actor=analyst,
    )
    return session, review


def confirm(client, session, data):
    return client.post(f"/admin/kyc/case/{session.pk}/do/confirm/", data, follow=True)


def test_the_page_offers_a_confirmation_step_with_a_note_not_a_one_click_button(client, pending, supervisor):
    session, _ = pending
    client.force_login(supervisor)
    page = client.get(f"/admin/kyc/case/{session.pk}/change/").content.decode()
    step = page[page.index('<details class="bo-confirm-step"') : page.index("</details>")]
    assert 'id="confirm-override"' in step
    assert 'name="note"' in step and "required" in step and 'name="checked"' in step


@pytest.mark.parametrize(
    "data",
    [{}, {"checked": "yes"}, {"note": "Checked the video."}, {"checked": "yes", "note": "   "}],
    ids=["nothing", "no-note", "no-tick", "blank-note"],
)
def test_a_confirmation_without_the_tick_and_a_note_changes_nothing(client, pending, supervisor, data):
    session, review = pending
    client.force_login(supervisor)
    response = confirm(client, session, {"review": review.pk, **data})
    assert response.status_code == 200
    assert "Not confirmed" in response.content.decode()
    review.refresh_from_db()
    assert review.state == Review.State.AWAITING_CONFIRMATION


def test_a_confirmation_with_its_note_takes_effect_and_keeps_the_note(client, pending, supervisor):
    session, review = pending
    client.force_login(supervisor)
    response = confirm(
        client, session, {"review": review.pk, "checked": "yes", "note": "Watched the video call."}
    )
    assert "Override confirmed" in response.content.decode()
    review.refresh_from_db()
    assert review.state == Review.State.EFFECTIVE and review.confirmation_note == "Watched the video call."
    confirmed = [
        e
        for e in case_detail(session.pk).timeline
        if e.kind == "review" and e.title.startswith("Override confirmed")
    ]
    assert confirmed[0].detail == "Watched the video call."


def test_the_service_keeps_a_note_and_still_takes_none(pending, supervisor, supervisor2):
    _, review = pending
    assert (
        review_confirm(review_id=review.pk, actor=supervisor, note="  Checked.  ").confirmation_note
        == "Checked."
    )
