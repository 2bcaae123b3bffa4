"""The case page: verified data beside ours with mismatches, decisions explained in words, the
evidence grouped by attempt, the timeline."""

import datetime as dt

import pytest

from kyc.models import Customer, ReviewReason, VerificationSession
from kyc.queue import case_detail
from kyc.services.reviews import review_propose
from kyc.services.updates import session_apply_update
from providers.solaris.normalize import update_from_identification

pytestmark = pytest.mark.django_db


def rows(session):
    return {row.label: row for row in case_detail(session.pk).comparison}


def test_names_match_whatever_the_case_accents_or_hyphens(make_case):
    session = make_case(
        "declined",
        first_name="Zoë",
        last_name="Smith-Jones",
        person={"firstName": "ZOE", "lastName": "SMITH JONES"},
    )
    compared = rows(session)
    assert not compared["First name"].mismatch and not compared["Last name"].mismatch


def test_name_date_of_birth_and_expiry_mismatches_are_flagged(make_case):
    session = make_case(
        "declined",
        person={"firstName": "SARAH", "lastName": "MORGANS", "dateOfBirth": "1967-03-31"},
        document={"type": "PASSPORT", "number": "P1", "country": "GB", "validUntil": "2001-01-01"},
    )
    compared = rows(session)
    assert compared["Last name"].mismatch and not compared["First name"].mismatch
    assert compared["Date of birth"].mismatch and compared["Date of birth"].verified == dt.date(1967, 3, 31)
    assert compared["Document valid until"].mismatch
    assert "expired" in compared["Document valid until"].note


def test_the_page_shows_mismatches_decisions_in_words_reviews_and_evidence(client, make_case, analyst):
    session = make_case(
        "declined",
        reason_code=103,
        media=True,
        person={"firstName": "SARAH", "lastName": "MORGANS", "dateOfBirth": "1967-03-30"},
    )
    Customer.objects.filter(pk=session.customer_id).update(first_name="Sarah")
    review_propose(
        session_id=session.pk,
        outcome="approve",
        reason=ReviewReason.objects.get(code="provider-concern-resolved"),
        note="Second look: same person.",
        actor=analyst,
    )
    client.force_login(analyst)
    page = client.get(f"/admin/kyc/case/{session.pk}/change/").content.decode()
    assert page.count('class="bo-mismatch"') == 1  # the last name
    assert "9102 — Negative: person has not been verified" in page
    assert "reason 103 — Person showing the document does not appear to match document photo" in page
    assert "Override proposed: Approve — Provider&#x27;s concern resolved" in page
    assert "Second look: same person." in page
    assert (
        page.index('data-context="document-front"')
        < page.index('data-context="document-back"')
        < page.index('data-context="face"')
    )
    assert f"/admin/kyc/media/{session.media.first().pk}/content/" in page


def test_a_provisional_verdict_is_shown_as_provisional_until_the_final_one(client, make_case, analyst):
    """Solaris's pending_failed (IDnow's verdict, Solaris's own review still open) is recorded but
    decides nothing: the page says so, in the provider's words, and the final decision replaces it."""
    session = make_case(None)
    VerificationSession.objects.filter(pk=session.pk).update(provider="solaris")
    identification = {"id": session.provider_session_id, "completed_at": "2026-12-01T10:00:00.000Z"}
    for status in ("pending", "pending_failed"):
        session_apply_update(
            provider="solaris", update=update_from_identification({**identification, "status": status})
        )
    client.force_login(analyst)

    page = client.get(f"/admin/kyc/case/{session.pk}/change/").content.decode()
    assert 'id="provisional-decision">Provisional: pending failed<' in page
    assert "Not final: the provider's own review is still open" in page
    assert "not applied: late or superseded" not in page
    assert "none: the provider's decision is not final yet" in page
    assert "Provider decision: Submitted (provisional" in page

    session_apply_update(
        provider="solaris", update=update_from_identification({**identification, "status": "failed"})
    )
    page = client.get(f"/admin/kyc/case/{session.pk}/change/").content.decode()
    assert 'id="provisional-decision"' not in page
    assert 'bo-status bo-status-declined">Declined<' in page
