"""Solaris's API as the sandbox serves it: persons, identifications, documents, errors[] bodies,
and the bearer token on every call."""

import pytest

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"id", "status", "code", "title", "detail"}


def only_error(response) -> dict:
    (error,) = response.json()["errors"]
    assert error.keys() >= ERROR_KEYS
    assert error["status"] == str(response.status_code)
    return error


def test_a_person_is_created_with_our_reference_and_read_back(solaris):
    created = solaris.create_person(reference="CUST-42", nationality="DE")

    assert created["id"].endswith("cper") and len(created["id"]) == 36
    read = solaris.get(f"/persons/{created['id']}").json()
    assert read["reference"] == "CUST-42"
    assert read["first_name"] == "Anna"
    assert read["screening_progress"] == "NOT_SCREENED"
    assert read["risk_classification_status"] == "NOT_SCORED"


def test_an_unknown_person_is_model_not_found(solaris):
    response = solaris.get("/persons/00000000000000000000000000000000cper")

    assert response.status_code == 404
    error = only_error(response)
    assert error["code"] == "model_not_found"
    assert "Solaris::Person" in error["detail"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"last_name": "Schmidt"}, "first_name"),
        ({"first_name": "Anna", "last_name": ""}, "last_name"),
        ({"first_name": "Anna", "last_name": "Schmidt", "birth_date": "01.04.1990"}, "birth_date"),
    ],
)
def test_an_invalid_person_is_a_validation_error_naming_the_field(solaris, data, field):
    response = solaris.post("/persons", data)

    assert response.status_code == 400
    assert only_error(response)["source"]["field"] == field


def test_a_body_that_is_not_json_is_refused(solaris):
    response = solaris.client.post(
        solaris.prefix + "/v1/persons",
        b"first_name=Anna",
        content_type="text/plain",
        headers=solaris.bearer(),
    )

    assert response.status_code == 415
    only_error(response)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no token"),
        pytest.param({"Authorization": "Bearer not-a-token"}, id="unknown token"),
        pytest.param({"Authorization": "Basic abc"}, id="basic instead of bearer"),
    ],
)
def test_every_api_call_needs_a_valid_bearer_token(solaris, headers):
    response = solaris.client.get(solaris.prefix + "/v1/webhooks", headers=headers)

    assert response.status_code == 401
    assert only_error(response)["code"] == "unauthorized"


def test_a_token_in_the_url_is_refused_even_when_valid(solaris):
    token = solaris.fetch_token().json()["access_token"]

    response = solaris.client.get(solaris.prefix + f"/v1/webhooks?access_token={token}")

    assert response.status_code == 401


def test_a_wrong_method_is_405_with_an_errors_body(solaris):
    response = solaris.call("PUT", "/persons", {})

    assert response.status_code == 405
    only_error(response)


def test_an_identification_starts_created_without_a_url(solaris):
    person = solaris.create_person()

    created = solaris.create_identification(person["id"], reference="CUST-1", language="EN")

    assert created["id"].endswith("cidt")
    assert created["status"] == "created"
    assert created["url"] is None
    assert created["method"] == "idnow"
    assert created["reference"] == "CUST-1"
    assert created["completed_at"] is None


def test_the_method_defaults_to_idnow_and_must_be_solaris_s(solaris):
    person = solaris.create_person()

    default = solaris.post(f"/persons/{person['id']}/identifications", {})
    unknown = solaris.post(f"/persons/{person['id']}/identifications", {"method": "selfie"})

    assert default.json()["method"] == "idnow"
    assert unknown.status_code == 400
    assert only_error(unknown)["source"]["field"] == "method"


def test_requesting_gives_the_hosted_url_and_pending(solaris):
    person = solaris.create_person()
    created = solaris.create_identification(person["id"])
    path = f"/persons/{person['id']}/identifications/{created['id']}"

    requested = solaris.patch(path + "/request")

    assert requested.status_code == 201
    body = requested.json()
    assert body["status"] == "pending"
    assert body["url"] == f"{solaris.public_url}/sandbox/solaris/idnow/identifications/{created['id']}"
    assert isinstance(body["estimated_waiting_time"], int)
    assert solaris.get(path).json()["status"] == "pending"
    # Asked again while pending: the same link.
    assert solaris.patch(path + "/request").json()["url"] == body["url"]


def test_device_data_passed_is_recorded(solaris):
    person = solaris.create_person()
    created = solaris.create_identification(person["id"], device_data="seon-fingerprint-1")
    solaris.patch(
        f"/persons/{person['id']}/identifications/{created['id']}/request", {"device_data": "seon-2"}
    )

    detail = solaris.client.get(solaris.prefix + f"/control/identifications/{created['id']}").json()

    assert detail["device_data"] == ["seon-fingerprint-1", "seon-2"]


def test_an_identification_of_another_person_is_not_found(solaris):
    anna = solaris.create_person()
    other = solaris.create_person(first_name="Ben")
    created = solaris.create_identification(anna["id"])

    response = solaris.get(f"/persons/{other['id']}/identifications/{created['id']}")

    assert response.status_code == 404
    assert only_error(response)["code"] == "model_not_found"


def test_the_list_leaves_out_identifications_not_yet_requested(solaris):
    person = solaris.create_person()
    solaris.create_identification(person["id"])
    requested = solaris.create_identification(person["id"])
    solaris.patch(f"/persons/{person['id']}/identifications/{requested['id']}/request")

    listed = solaris.get(f"/persons/{person['id']}/identifications").json()

    assert [i["id"] for i in listed] == [requested["id"]]


MAGIC = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n", "application/pdf": b"%PDF-"}


def test_a_finished_identification_has_documents_with_real_bytes(solaris):
    identification = solaris.requested_identification()
    person_id = identification["person_id"]
    assert solaris.get(f"/persons/{person_id}/identifications/{identification['id']}/documents").json() == []

    solaris.outcome(identification["id"], "successful")

    path = f"/persons/{person_id}/identifications/{identification['id']}"
    listed = solaris.get(path + "/documents").json()
    assert solaris.get(path).json()["documents"] == listed
    assert {d["document_type"] for d in listed} == {"ID_DOCUMENT", "FACE", "KYC_REPORT"}
    for document in listed:
        download = solaris.get(f"/persons/{person_id}/documents/{document['id']}/file")
        assert download.status_code == 200
        assert download["Content-Type"] == document["content_type"]
        assert len(download.content) == document["size"]
        assert download.content.startswith(MAGIC[document["content_type"]])
    assert [d["id"] for d in solaris.get(f"/persons/{person_id}/documents").json()] == [
        d["id"] for d in listed
    ]


def test_a_document_of_another_person_is_not_found(solaris):
    identification = solaris.requested_identification()
    solaris.outcome(identification["id"], "successful")
    person_id = identification["person_id"]
    document = solaris.get(f"/persons/{person_id}/documents").json()[0]
    other = solaris.create_person(first_name="Ben")

    response = solaris.get(f"/persons/{other['id']}/documents/{document['id']}/file")

    assert response.status_code == 404
    assert only_error(response)["code"] == "model_not_found"
