"""Notifications go to public addresses only (SSRF): a non-public target is refused when it is
registered and again when the socket is opened (a name that resolved to a public address at
registration may resolve to 127.0.0.1 at delivery: DNS rebinding). Only the status code and a
short error are kept of an answer, never its body."""

import socket

import pytest
from rest_framework.test import APIClient

from api.services import api_key_create
from kyc.models import VerificationSession
from kyc.services import customers
from notifications import egress
from notifications.models import Delivery, DeliveryAttempt, Endpoint
from notifications.services import EndpointRefused, endpoint_create

pytestmark = pytest.mark.django_db(transaction=True)

REFUSED = "refused: not a public address"
SECRET = "whsec_" + "A" * 43 + "="


@pytest.fixture
def api():
    _, raw = api_key_create(name="backend", scopes=["read", "write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def default_policy(settings):
    """The production default: no operator allow-list (the test settings allow loopback)."""
    settings.NOTIFICATIONS_ALLOWED_HOSTS = []
    settings.NOTIFICATIONS_ALLOWED_NETWORKS = []
    settings.NOTIFICATIONS_REQUIRE_HTTPS = False
    settings.NOTIFICATIONS_TIMEOUT = 1
    settings.NOTIFICATIONS_RETRY_BASE = 3600


@pytest.fixture
def fake_dns(monkeypatch):
    """The DNS boundary: names in `table` resolve to the address given, the rest as usual."""
    real = socket.getaddrinfo
    table: dict[str, str] = {}

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if isinstance(host, bytes):
            host = host.decode()
        if host in table:
            host = table[host]
        return real(host, port, family, type, proto, flags)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


# Every form of a non-public target the issue lists, IPv4 and IPv6, plus a name for 127.0.0.1.
# `{port}` is a live receiver on 127.0.0.1: a loopback form that got through would reach it.
NON_PUBLIC = [
    "http://127.0.0.1:{port}/kyc",
    "http://127.1:{port}/kyc",
    "http://0x7f000001:{port}/kyc",
    "http://2130706433:{port}/kyc",
    "http://0177.0.0.1:{port}/kyc",
    "http://localhost:{port}/kyc",
    "http://[::ffff:127.0.0.1]:{port}/kyc",
    "http://[::ffff:7f00:1]:{port}/kyc",
    "http://[::1]:{port}/kyc",
    "http://0.0.0.0:{port}/kyc",
    "https://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://10.0.0.8/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://240.0.0.1/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
]


@pytest.mark.parametrize("template", NON_PUBLIC)
def test_a_non_public_target_is_refused_when_registered(template, api, receiver, default_policy):
    url = template.format(port=receiver().server.server_port)
    response = api.post("/api/v1/notification-endpoints/", {"url": url}, format="json")
    assert response.status_code == 400, response.json()
    assert "url" in response.json()["error"]["fields"]
    with pytest.raises(EndpointRefused):
        endpoint_create(url=url)
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize("template", NON_PUBLIC)
def test_a_non_public_target_is_not_connected_to_at_delivery(template, receiver, customer, default_policy):
    r = receiver()
    url = template.format(port=r.server.server_port)
    # Registered before this check existed (or written to the table by hand).
    Endpoint.objects.create(url=url, secret=SECRET)
    VerificationSession.objects.create(customer=customer, provider="veriff")
    customers.customer_refresh_kyc_status(customer=customer)
    delivery = Delivery.objects.get()
    assert r.requests == []
    assert delivery.attempts == 1 and delivery.last_error == REFUSED
    assert delivery.last_status_code is None


def test_a_name_that_rebinds_to_loopback_after_registration_is_not_connected_to(
    api, receiver, customer, default_policy, fake_dns
):
    r = receiver()
    fake_dns["hooks.example.test"] = "93.184.216.34"  # public when registered
    url = f"http://hooks.example.test:{r.server.server_port}/kyc"
    assert api.post("/api/v1/notification-endpoints/", {"url": url}, format="json").status_code == 201
    fake_dns["hooks.example.test"] = "127.0.0.1"  # and loopback when delivered to
    VerificationSession.objects.create(customer=customer, provider="veriff")
    customers.customer_refresh_kyc_status(customer=customer)
    assert r.requests == []
    assert Delivery.objects.get().last_error == REFUSED


def test_a_name_with_any_non_public_address_is_refused(fake_dns, default_policy):
    fake_dns["mixed.example.test"] = "10.1.2.3"
    with pytest.raises(EndpointRefused):
        endpoint_create(url="https://mixed.example.test/kyc")


@pytest.mark.parametrize(
    "url", ["ftp://example.com/kyc", "file:///etc/passwd", "gopher://example.com/", "https:///kyc", "kyc"]
)
def test_only_http_and_https_urls_are_accepted(url, default_policy):
    with pytest.raises(EndpointRefused):
        endpoint_create(url=url)
    assert not Endpoint.objects.exists()


def test_an_operator_allows_an_internal_network_or_host_explicitly(
    api, receiver, customer, default_policy, settings
):
    r = receiver()
    settings.NOTIFICATIONS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert api.post("/api/v1/notification-endpoints/", {"url": r.url}, format="json").status_code == 201
    settings.NOTIFICATIONS_ALLOWED_NETWORKS = []
    settings.NOTIFICATIONS_ALLOWED_HOSTS = ["localhost"]
    by_name = f"http://localhost:{r.server.server_port}/by-name"
    assert api.post("/api/v1/notification-endpoints/", {"url": by_name}, format="json").status_code == 201
    # The allow-list is read at connect time too: the name is allowed, the bare address is not.
    VerificationSession.objects.create(customer=customer, provider="veriff")
    customers.customer_refresh_kyc_status(customer=customer)
    assert [req["status"] for req in r.requests] == [200]
    assert Delivery.objects.get(endpoint__url=by_name).state == "succeeded"
    assert Delivery.objects.get(endpoint__url=r.url).last_error == REFUSED


def test_the_answers_body_is_never_kept(receiver, customer, settings):
    settings.NOTIFICATIONS_RETRY_BASE = 3600
    r = receiver(500)
    endpoint_create(url=r.url)
    VerificationSession.objects.create(customer=customer, provider="veriff")
    customers.customer_refresh_kyc_status(customer=customer)
    [attempt] = DeliveryAttempt.objects.all()
    assert (attempt.status_code, attempt.error, attempt.response_body) == (500, "HTTP 500", "")


def test_a_connection_error_is_kept_as_a_short_fixed_text(customer, settings):
    settings.NOTIFICATIONS_RETRY_BASE = 3600
    endpoint_create(url="http://127.0.0.1:9/nothing-listens-here")
    VerificationSession.objects.create(customer=customer, provider="veriff")
    customers.customer_refresh_kyc_status(customer=customer)
    delivery = Delivery.objects.get()
    # Nothing of the socket's own message (addresses, ports, errno) that would make a scanner.
    assert delivery.last_error == "connection failed"


def test_a_redirect_is_not_followed(customer, settings, receiver):
    settings.NOTIFICATIONS_RETRY_BASE = 3600
    r = receiver(302)
    endpoint_create(url=r.url)
    VerificationSession.objects.create(customer=customer, provider="veriff")
    customers.customer_refresh_kyc_status(customer=customer)
    assert len(r.requests) == 1 and Delivery.objects.get().last_error == "HTTP 302"


def test_the_policy_reads_every_address_form(default_policy):
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1", "169.254.169.254", "100.64.0.1", "224.0.0.1"):
        assert not egress.address_allowed(address), address
    for address in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"):
        assert egress.address_allowed(address), address
