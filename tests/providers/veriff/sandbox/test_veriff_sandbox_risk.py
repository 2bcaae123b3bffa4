"""The sandbox's risk options (issue 12): decisions with risk signals or without attemptId, the
watchlist-screening webhook, and the person record's fake PEP list."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session(api):
    return api.create_session(vendorData="customer-7", person={"firstName": "Sarah", "lastName": "Morgan"})


def test_a_decision_can_carry_risk_signals(control, session, webhooks):
    response = control.decide(
        session["id"],
        status="approved",
        riskLabels=["document_crosslinked_with_fraud"],
        matchedSessionId="d40edb60-6ae6-4475-be72-84b81669cce6",
        pepSanctionMatch="Possible match",
    )
    verification = webhooks.bodies()[-1]["verification"]
    assert verification == response.json()["verification"]
    assert verification["riskLabels"] == [
        {"label": "document_crosslinked_with_fraud", "category": "document", "sessionIds": []}
    ]
    assert (
        verification["biometricAuthentication"]["matchedSessionId"] == "d40edb60-6ae6-4475-be72-84b81669cce6"
    )
    assert verification["person"]["pepSanctionMatch"] == "Possible match"


def test_a_decision_without_attempt_id_leaves_it_out_of_the_webhook_and_get_decision(
    api, control, session, webhooks
):
    control.decide(session["id"], status="resubmission_requested", omitAttemptId=True)
    assert "attemptId" not in webhooks.bodies()[-1]["verification"]
    # Events keep theirs, as Veriff's do.
    assert all("attemptId" in body for body in webhooks.bodies()[:-1])
    assert (
        "attemptId"
        not in api.get(f"/sessions/{session['id']}/decision", session["id"]).json()["verification"]
    )


def test_a_plain_decision_has_no_risk_fields(control, session, webhooks):
    verification = control.decide(session["id"], status="approved").json()["verification"]
    assert "riskLabels" not in verification and "biometricAuthentication" not in verification
    assert verification["attemptId"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"riskLabels": "fraud"}, "riskLabels"),
        ({"riskLabels": [""]}, "riskLabels"),
        ({"matchedSessionId": 7}, "matchedSessionId"),
        ({"omitAttemptId": "yes"}, "omitAttemptId"),
    ],
)
def test_bad_risk_options_are_refused_and_decide_nothing(control, session, webhooks, body, words):
    response = control.decide(session["id"], status="approved", **body)
    assert response.status_code == 400 and words in response.json()["message"]
    assert webhooks.bodies() == []


def test_the_watchlist_webhook_has_one_hit_per_list_with_its_source(control, session, webhooks):
    control.decide(session["id"], status="approved")
    response = control.watchlist(session["id"], lists=["sanctions", "pep"])
    assert response.status_code == 200
    body = webhooks.bodies()[-1]
    assert body == response.json()
    assert webhooks.requests[-1].url.endswith("/webhooks/veriff/watchlist/")
    assert (body["matchStatus"], body["totalHits"], body["sessionId"]) == ("possible_match", 2, session["id"])
    first = body["hits"][0]
    assert first["matchedName"] == "Sarah Morgan"
    assert first["listingsRelatedToMatch"]["sanctions"][0]["sourceName"]
    assert body["hits"][1]["listingsRelatedToMatch"]["pep"]


def test_a_no_match_watchlist_webhook_has_no_hits(control, session, webhooks):
    control.decide(session["id"], status="approved")
    body = control.watchlist(session["id"], matchStatus="no_match").json()
    assert (body["matchStatus"], body["totalHits"], body["hits"]) == ("no_match", 0, [])


def test_the_person_record_matches_the_fake_pep_list_by_last_name(api, control):
    pep = api.create_session(person={"firstName": "Otto", "lastName": "Pep"})
    control.decide(pep["id"], status="approved")
    matches = api.get(f"/sessions/{pep['id']}/person", pep["id"]).json()["person"]["pepSanctionMatches"]
    assert matches[0]["matches"][0] == {"name": "Otto Pep", "nationality": "EE", "category": "PEP"}
