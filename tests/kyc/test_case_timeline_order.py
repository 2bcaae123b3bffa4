"""The case page's timeline in the order things happened, also when several steps carry the same
time (issue 12, glitches: "the timeline's order is scrambled within one second")."""

import datetime as dt

import pytest

from kyc.models import Attempt, AuditEvent, ProviderDecision, VerificationSession
from kyc.queue import case_detail

pytestmark = pytest.mark.django_db

SAME = dt.datetime(2026, 3, 2, 10, 0, 0, tzinfo=dt.UTC)


def test_steps_stamped_with_the_same_time_are_newest_first_by_sequence(make_case):
    session = make_case("declined")
    # One service call stamps the start, the submission, the attempt and the decision alike.
    VerificationSession.objects.filter(pk=session.pk).update(created_at=SAME, submitted_at=SAME)
    Attempt.objects.create(session=session, provider_attempt_id="a-1")
    Attempt.objects.filter(session=session).update(created_at=SAME)
    ProviderDecision.objects.filter(session=session).update(decided_at=SAME, received_at=SAME)
    AuditEvent.objects.filter(session=session).update(created_at=SAME)

    entries = [e for e in case_detail(session.pk).timeline if e.at == SAME]
    domain = [e.kind for e in entries if e.kind != "audit"]
    assert domain == ["decision", "attempt", "attempt", "session", "session"]
    assert [e.title.split(" (")[0] for e in entries if e.kind == "attempt"] == [
        "Attempt 2 started",
        "Attempt 1 started",
    ]
    assert [e.title.split(" (")[0] for e in entries if e.kind == "session"] == [
        "Submitted to the provider",
        "Verification started",
    ]
    audit_ids = [e.seq[1] for e in entries if e.kind == "audit"]
    assert audit_ids == sorted(audit_ids, reverse=True) and audit_ids  # the chain's order, newest first
    # A record of a change is listed above (after) the change it records.
    assert entries[0].kind == "audit"
