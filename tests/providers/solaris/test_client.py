"""The Solaris client against the sandbox: the token request exactly as the seed says, the token
shared and refreshed once on a 401, and Solaris's errors[] bodies as clear provider errors."""

import base64
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.core.cache import cache

from providers.base import ProviderError, ProviderRateLimited
from providers.solaris.client import SolarisClient
from providers.solaris.sandbox import credentials

pytestmark = pytest.mark.django_db


def _person(client: SolarisClient, **fields) -> dict:
    return client.create_person({"first_name": "Anna", "last_name": "Schmidt", **fields})


def test_the_token_request_has_the_seeds_exact_form(solaris_provider, solaris_sandbox):
    person = _person(solaris_provider.client)

    (method, url, headers), *api_calls = solaris_sandbox.calls
    assert method == "POST"
    assert url == f"{solaris_sandbox.base_url}/oauth2/token"
    expected = base64.b64encode(f"{credentials.CLIENT_ID}:{credentials.CLIENT_SECRET}".encode()).decode()
    assert headers["Authorization"] == f"Basic {expected}"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    token_call = solaris_sandbox.mock.calls[0].request
    assert parse_qs(token_call.body) == {"grant_type": ["client_credentials"], "scope": ["partners"]}
    # The token travels in the Authorization header of the API calls and in no URL.
    [(_, person_url, person_headers)] = api_calls
    assert person_url == f"{solaris_sandbox.base_url}/v1/persons"
    token = person_headers["Authorization"].removeprefix("Bearer ")
    assert person_headers["Authorization"] == f"Bearer {token}" and len(token) >= 32
    assert person["id"].endswith("cper")
    assert all(not urlsplit(u).query and token not in u for _, u, _ in solaris_sandbox.calls)


def test_the_token_is_shared_by_clients_of_the_same_account(
    solaris_provider, solaris_new_provider, solaris_sandbox
):
    person = _person(solaris_provider.client)
    solaris_new_provider().client.get_person(person["id"])

    assert solaris_sandbox.token_requests() == 1


def test_an_expired_token_is_refreshed_once_and_the_call_replayed(solaris_provider, solaris_sandbox):
    person = _person(solaris_provider.client)
    solaris_sandbox.expire_tokens()

    again = solaris_provider.client.get_person(person["id"])

    assert again["id"] == person["id"]
    assert solaris_sandbox.token_requests() == 2
    person_calls = [c for c in solaris_sandbox.calls if c[1].endswith(f"/v1/persons/{person['id']}")]
    assert len(person_calls) == 2  # refused with the expired token, then replayed with the new one
    assert person_calls[0][2]["Authorization"] != person_calls[1][2]["Authorization"]


def test_eight_processes_asking_at_once_fetch_one_token(
    solaris_provider, solaris_new_provider, solaris_sandbox
):
    person = _person(solaris_provider.client)
    cache.clear()  # no shared token: every client must have one
    before = solaris_sandbox.token_requests()
    # The token endpoint answers slowly, so that all eight ask while the first one refreshes.
    solaris_sandbox.fault(mode="slow_token", seconds=0.3)
    clients = [solaris_new_provider().client for _ in range(8)]
    start = threading.Barrier(8)
    answers, failures = [], []

    def ask(client):
        start.wait()
        try:
            answers.append(client.get_person(person["id"])["id"])
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=ask, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    solaris_sandbox.serve(threads)
    for thread in threads:
        thread.join()

    assert failures == []
    assert answers == [person["id"]] * 8
    assert solaris_sandbox.token_requests() - before == 1


# -- errors[] ----------------------------------------------------------------------------------


def test_an_unknown_person_is_a_permanent_error_with_solaris_code(solaris_provider):
    missing = "0" * 32 + "cper"
    with pytest.raises(ProviderError) as caught:
        solaris_provider.client.get_person(missing)

    error = caught.value
    assert error.permanent and error.status_code == 404 and error.provider_code == "model_not_found"
    assert str(error) == "Solaris answered 404: model_not_found: Model Not Found"


def test_a_refused_field_is_permanent_and_the_message_quotes_no_personal_data(solaris_provider):
    with pytest.raises(ProviderError) as caught:
        solaris_provider.client.create_person({"first_name": "Zoë", "last_name": ""})

    error = caught.value
    assert error.permanent and error.status_code == 400 and error.provider_code == "validation_error"
    assert "Zoë" not in str(error)


def test_a_server_error_is_transient(solaris_provider, solaris_sandbox):
    solaris_sandbox.fault(mode="error", match="/v1/persons")
    with pytest.raises(ProviderError) as caught:
        _person(solaris_provider.client)

    error = caught.value
    assert not error.permanent and error.status_code == 500
    assert error.provider_code == "internal_server_error"


# Solaris's error shapes at the HTTP boundary, for what the sandbox does not answer.
API = "https://api.solaris.test"
AUTH = "https://auth.solaris.test"


@pytest.fixture
def offline_client():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(f"{AUTH}/oauth2/token", json={"access_token": "t" * 40, "expires_in": 3599}, status=201)
        client = SolarisClient(api_url=API, auth_url=AUTH, client_id="c", client_secret="s")
        client.mock = mock
        yield client


@pytest.mark.parametrize(
    ("http_status", "body_status", "permanent"),
    [
        pytest.param(403, "403", True, id="string status"),
        pytest.param(422, 422, True, id="number status"),
        pytest.param(503, "503", False, id="unavailable"),
        pytest.param(408, 408, False, id="request timeout"),
    ],
)
def test_errors_bodies_with_a_string_or_a_number_status(offline_client, http_status, body_status, permanent):
    body = {"errors": [{"id": "e1", "status": body_status, "code": "unauthorized_action", "title": "Nope"}]}
    offline_client.mock.post(f"{API}/v1/persons", json=body, status=http_status)

    with pytest.raises(ProviderError) as caught:
        offline_client.create_person({"first_name": "A", "last_name": "B"})

    assert caught.value.permanent is permanent
    assert caught.value.status_code == http_status and caught.value.provider_code == "unauthorized_action"


def test_too_many_calls_is_rate_limited_not_a_fault(offline_client):
    offline_client.mock.post(
        f"{API}/v1/persons", json={"errors": []}, status=429, headers={"Retry-After": "7"}
    )

    with pytest.raises(ProviderRateLimited) as caught:
        offline_client.create_person({"first_name": "A", "last_name": "B"})

    assert not caught.value.permanent and caught.value.retry_after == 7


def test_a_body_that_is_not_errors_still_gives_a_clear_error(offline_client):
    offline_client.mock.post(f"{API}/v1/persons", body=b"<html>bad gateway</html>", status=502)

    with pytest.raises(ProviderError) as caught:
        offline_client.create_person({"first_name": "A", "last_name": "B"})

    assert not caught.value.permanent and str(caught.value).startswith("Solaris answered 502")


@pytest.mark.parametrize("fault", [requests.ConnectionError("refused"), requests.ReadTimeout("slow")])
def test_connection_errors_and_timeouts_are_transient(offline_client, fault):
    offline_client.mock.post(f"{API}/v1/persons", body=fault)

    with pytest.raises(ProviderError) as caught:
        offline_client.create_person({"first_name": "A", "last_name": "B"})

    assert not caught.value.permanent


def test_a_401_after_the_replay_is_transient(offline_client):
    offline_client.mock.get(f"{API}/v1/persons/p1", json={"errors": [{"code": "unauthorized"}]}, status=401)

    with pytest.raises(ProviderError) as caught:
        offline_client.get_person("p1")

    assert not caught.value.permanent and caught.value.status_code == 401
    tokens = [c for c in offline_client.mock.calls if c.request.url.endswith("/oauth2/token")]
    assert len(tokens) == 2  # the first token, and one refresh; then no more
