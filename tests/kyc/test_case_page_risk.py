"""The case page and the staff API show a decision's risk flags and the customer's screening hits,
and staff resolve hits from the page (issue 12, rules 5-6). Bad input: a clear message, nothing
changed."""

import json

import pytest
from rest_framework.test import APIClient

from api.services import api_key_create
from kyc.models import ScreeningResult
from kyc.services import screening, updates
from providers.base import LIST_PEP, LIST_SANCTIONS, Screening, ScreeningHit
from providers.veriff import normalize
from tests.webhooks import veriff_fixtures as fx

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _forget_cached_filters():
    """The queue caches its filter choices (reason codes, countries) for a minute: a queue page
    seen here must not leave this test's choices to the next test file."""
    yield
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def flagged(make_case):
    """An approval with a risk label and a matched session, and two screening hits."""
    session = make_case(None)
    data = json.loads(fx.body("decision_9001_with_risk_labels"))
    data["verification"]["id"] = session.provider_session_id
    updates.session_apply_update(
        provider="veriff", update=normalize.decision_from_verification(data["verification"], data)
    )
    hits = (
        ScreeningHit(
            list_type=LIST_SANCTIONS,
            matched_name="Sarah Morgan",
            date_of_birth="1967",
            countries=("United Kingdom",),
            match_types=("name_exact", "year_of_birth"),
            sources=(
                {
                    "list": "sanctions",
                    "name": "Example Sanctions List",
                    "url": "https://x.example",
                    "date": "",
                },
            ),
        ),
        ScreeningHit(list_type=LIST_PEP, matched_name="Sara Morgan", match_types=("name_fuzzy",)),
    )
    screening.screening_record(
        session=session, screening=Screening(source="veriff:watchlist", possible_match=True, hits=hits)
    )
    session.refresh_from_db()
    return session


def page(client, session):
    response = client.get(f"/admin/kyc/case/{session.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def action(client, session, name, **data):
    return client.post(f"/admin/kyc/case/{session.pk}/do/{name}/", data=data, follow=True)


def test_the_case_page_shows_risk_flags_and_each_hit_with_why_it_matched(client, flagged, analyst):
    client.force_login(analyst)
    html = page(client, flagged)
    assert 'id="risk-flags"' in html and "document_crosslinked_with_fraud" in html
    assert "d40edb60-6ae6-4475-be72-84b81669cce6" in html  # the matched session
    assert "holds this approval" in html
    assert 'id="screening"' in html
    for words in (
        "Sarah Morgan",
        "name_exact, year_of_birth",
        "United Kingdom",
        "Example Sanctions List",
        "1967",
    ):
        assert words in html
    assert html.count('name="resolution"') == 4  # two choices on each of the two open hits


def test_an_analyst_records_a_true_match_from_the_page(client, flagged, analyst):
    client.force_login(analyst)
    pep = ScreeningResult.objects.get(list_type="pep")
    response = action(
        client, flagged, "screening-resolve", hit=pep.pk, resolution="true_match", reason="Same person."
    )
    assert "recorded as true match" in response.content.decode()
    pep.refresh_from_db()
    assert pep.state == "true_match" and pep.resolved_by == analyst


def test_a_resolution_without_a_reason_is_refused_and_changes_nothing(client, flagged, analyst):
    client.force_login(analyst)
    hit = ScreeningResult.objects.get(list_type="sanctions")
    response = action(
        client, flagged, "screening-resolve", hit=hit.pk, resolution="false_positive", reason=""
    )
    assert "a reason is required" in response.content.decode()
    hit.refresh_from_db()
    assert hit.state == "possible_match"


def test_a_hit_of_another_customer_is_refused(client, flagged, make_case, analyst):
    client.force_login(analyst)
    other = make_case("declined")
    hit = ScreeningResult.objects.get(list_type="sanctions")
    response = action(client, other, "screening-resolve", hit=hit.pk, resolution="true_match", reason="x")
    assert "not part of this case" in response.content.decode()
    hit.refresh_from_db()
    assert hit.state == "possible_match"


def test_a_sanctions_false_positive_is_confirmed_by_a_second_supervisor_on_the_page(
    client, flagged, supervisor, supervisor2
):
    hit = ScreeningResult.objects.get(list_type="sanctions")
    client.force_login(supervisor)
    response = action(
        client, flagged, "screening-resolve", hit=hit.pk, resolution="false_positive", reason="DOB."
    )
    assert "second person" in response.content.decode()
    assert "another supervisor must confirm" in page(client, flagged)
    client.force_login(supervisor2)
    assert "Confirm false positive" in page(client, flagged)
    action(client, flagged, "screening-confirm", hit=hit.pk)
    hit.refresh_from_db()
    assert hit.state == "false_positive" and hit.resolved_by == supervisor2


def test_an_analyst_cannot_confirm_a_false_positive(client, flagged, supervisor, analyst):
    hit = ScreeningResult.objects.get(list_type="sanctions")
    screening.screening_resolve(result_id=hit.pk, resolution="false_positive", reason="x", actor=supervisor)
    client.force_login(analyst)
    assert (
        client.post(f"/admin/kyc/case/{flagged.pk}/do/screening-confirm/", data={"hit": hit.pk}).status_code
        == 403
    )


def test_the_staff_api_shows_risk_flags_and_screening_results(flagged):
    _, raw = api_key_create(name="staff", scopes=["read", "write", "staff"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    case = client.get(f"/api/v1/staff/cases/{flagged.reference}/").json()
    flags = {(f["kind"], f["code"]) for f in case["decisions"][0]["risk_flags"]}
    assert flags == {
        ("risk_label", "document_crosslinked_with_fraud"),
        ("matched_session", "matched_session"),
    }
    hits = {h["list_type"]: h for h in case["screening_results"]}
    assert set(hits) == {"sanctions", "pep"}
    assert hits["sanctions"]["match_types"] == ["name_exact", "year_of_birth"]
    assert hits["sanctions"]["state"] == "possible_match"
    assert hits["sanctions"]["case_id"] == str(flagged.reference)


def test_a_matched_session_of_ours_links_to_its_case(client, make_case, analyst):
    other = make_case("approved", first_name="Ola", last_name="Othername")
    session = make_case(None)
    data = json.loads(
        fx.body(
            "decision_9001_with_risk_labels",
            v_riskLabels=[],
            v_biometricAuthentication={"matchedSessionId": other.provider_session_id},
        )
    )
    data["verification"]["id"] = session.provider_session_id
    updates.session_apply_update(
        provider="veriff", update=normalize.decision_from_verification(data["verification"], data)
    )
    client.force_login(analyst)
    html = page(client, session)
    assert f'href="/admin/kyc/case/{other.pk}/change/"' in html and "Ola Othername" in html


def test_the_queue_says_why_an_approval_is_held(client, flagged, analyst):
    client.force_login(analyst)
    html = client.get("/admin/kyc/case/").content.decode()
    assert '<span class="bo-badge bo-bad">risk flags</span>' in html
    assert '<span class="bo-badge bo-bad">screening hit</span>' in html


def test_an_auditor_sees_hits_but_cannot_resolve_them(client, flagged, auditor):
    client.force_login(auditor)
    html = page(client, flagged)
    assert 'id="screening"' in html and 'name="resolution"' not in html
    hit = ScreeningResult.objects.get(list_type="pep")
    url = f"/admin/kyc/case/{flagged.pk}/do/screening-resolve/"
    assert (
        client.post(url, data={"hit": hit.pk, "resolution": "true_match", "reason": "x"}).status_code == 403
    )
    hit.refresh_from_db()
    assert hit.state == "possible_match"
