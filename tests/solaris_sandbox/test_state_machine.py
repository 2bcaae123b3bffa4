"""The identification's walk (created → pending → pending_* → final) through the control endpoint
and the IDnow-like hosted page, each step announced by an IDENTIFICATION notification."""

import json
import time

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribed(solaris, receiver):
    solaris.subscribe("IDENTIFICATION")
    solaris.subscribe("PERSON_CHANGED")
    return receiver


def statuses_notified(receiver) -> list[str]:
    return [
        json.loads(r.body)["status"]
        for r in receiver.notifications()
        if r.headers["Solaris-Webhook-Event-Type"] == "IDENTIFICATION"
    ]


@pytest.mark.parametrize(
    ("outcome", "walk"),
    [
        ("successful", ["pending_successful", "successful"]),
        ("failed", ["pending_failed", "failed"]),
        ("pending_successful", ["pending_successful"]),
        ("pending_failed", ["pending_failed"]),
        ("aborted", ["aborted"]),
        ("expired", ["expired"]),
        ("canceled", ["canceled"]),
    ],
)
def test_each_outcome_walks_through_its_states_notifying_each(solaris, subscribed, outcome, walk):
    identification = solaris.requested_identification()

    response = solaris.outcome(identification["id"], outcome)

    assert response.status_code == 200
    assert response.json()["statuses"] == walk
    assert response.json()["identification"]["status"] == walk[-1]
    # created, pending, then the walk: one notification per status.
    assert statuses_notified(subscribed) == ["created", "pending", *walk]
    api_view = solaris.get(f"/persons/{identification['person_id']}/identifications/{identification['id']}")
    assert api_view.json()["status"] == walk[-1]


def test_a_final_status_has_completed_at_and_a_provisional_one_does_not(solaris):
    first = solaris.requested_identification()
    second = solaris.requested_identification()

    done = solaris.outcome(first["id"], "successful").json()["identification"]
    provisional = solaris.outcome(second["id"], "pending_successful").json()["identification"]

    assert done["completed_at"] is not None and done["completed_at"].endswith("Z")
    assert provisional["completed_at"] is None


def test_an_outcome_on_a_created_identification_first_issues_the_link(solaris):
    person = solaris.create_person()
    created = solaris.create_identification(person["id"])

    response = solaris.outcome(created["id"], "successful")

    assert response.json()["statuses"] == ["pending", "pending_successful", "successful"]
    assert response.json()["identification"]["url"].endswith(f"/idnow/identifications/{created['id']}")


def test_solaris_s_review_may_overturn_idnow_s_verdict(solaris):
    identification = solaris.requested_identification()
    solaris.outcome(identification["id"], "pending_successful")

    response = solaris.outcome(identification["id"], "failed")

    assert response.json()["statuses"] == ["failed"]
    assert response.json()["identification"]["failure_reason"]


@pytest.mark.parametrize("outcome", ["successful", "failed", "aborted", "canceled"])
def test_a_final_identification_moves_no_more(solaris, outcome):
    identification = solaris.requested_identification()
    solaris.outcome(identification["id"], "aborted")

    response = solaris.outcome(identification["id"], outcome)

    assert response.status_code == 409


def test_requesting_a_finished_identification_is_refused(solaris):
    identification = solaris.requested_identification()
    solaris.outcome(identification["id"], "expired")

    path = f"/persons/{identification['person_id']}/identifications/{identification['id']}/request"
    response = solaris.patch(path)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_status"


def test_idnow_success_screens_the_person_and_announces_it(solaris, subscribed):
    identification = solaris.requested_identification()

    solaris.outcome(identification["id"], "successful")

    person = solaris.get(f"/persons/{identification['person_id']}").json()
    assert person["screening_progress"] == "SCREENED_ACCEPTED"
    changed = [
        r for r in subscribed.notifications() if r.headers["Solaris-Webhook-Event-Type"] == "PERSON_CHANGED"
    ]
    assert len(changed) == 1
    assert changed[0].headers["Solaris-Entity-Id"] == identification["person_id"]
    assert changed[0].body == b"{}"


# --- the hosted page -----------------------------------------------------------------------------


def test_the_hosted_page_shows_the_person_and_the_choices(solaris):
    identification = solaris.requested_identification(first_name="Zoë")

    page = solaris.client.get(solaris.local(identification["url"]))

    assert page.status_code == 200
    text = page.content.decode()
    assert "Zoë" in text and identification["id"] in text
    assert 'value="successful"' in text and 'value="failed"' in text and 'value="aborted"' in text


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"outcome": "successful"}, "successful"),
        ({"outcome": "successful", "provisional": "on"}, "pending_successful"),
        ({"outcome": "failed"}, "failed"),
        ({"outcome": "failed", "provisional": "on"}, "pending_failed"),
        ({"outcome": "aborted"}, "aborted"),
    ],
)
def test_the_end_user_picks_the_outcome_on_the_hosted_page(solaris, subscribed, form, status):
    identification = solaris.requested_identification()

    with solaris.capture(execute=True):
        page = solaris.client.post(solaris.local(identification["url"]), form)

    assert page.status_code == 200
    assert f'class="status">{status}<' in page.content.decode()
    assert statuses_notified(subscribed)[-1] == status


def test_a_finished_identification_s_page_has_nothing_to_do(solaris):
    identification = solaris.requested_identification()
    solaris.outcome(identification["id"], "successful")

    page = solaris.client.get(solaris.local(identification["url"]))
    again = solaris.client.post(solaris.local(identification["url"]), {"outcome": "failed"})

    assert "nothing more to do" in page.content.decode()
    assert 'class="status">successful<' in again.content.decode()


def test_an_unknown_identification_s_page_is_404(solaris):
    assert solaris.client.get("/sandbox/solaris/idnow/identifications/nope").status_code == 404


def test_an_unused_link_expires_when_next_read(solaris, subscribed, settings):
    identification = solaris.requested_identification()
    path = f"/persons/{identification['person_id']}/identifications/{identification['id']}"
    assert solaris.get(path).json()["status"] == "pending"

    settings.SOLARIS_SANDBOX_LINK_SECONDS = 0

    assert solaris.get(path).json()["status"] == "expired"
    assert statuses_notified(subscribed)[-1] == "expired"
    assert "nothing more to do" in solaris.client.get(solaris.local(identification["url"])).content.decode()


def test_the_link_lifetime_is_scaled_by_the_sandbox_clock(solaris, settings):
    settings.SOLARIS_SANDBOX_LINK_SECONDS = 3600
    settings.SIM_TIME_SCALE = 0.0001  # 0.36 s
    identification = solaris.requested_identification()
    path = f"/persons/{identification['person_id']}/identifications/{identification['id']}"
    assert solaris.get(path).json()["status"] == "pending"

    time.sleep(0.4)

    assert [
        i["status"] for i in solaris.get(f"/persons/{identification['person_id']}/identifications").json()
    ] == ["expired"]
