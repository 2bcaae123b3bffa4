"""providers/http.py: the proxy environment read once for a client that calls one host."""

from __future__ import annotations

import requests
import responses

from providers.http import environment_read_once, retrying_session
from providers.shareid.client import ShareIDClient

URL = "http://shareid.example/api"


def test_the_proxy_environment_is_read_once_and_not_at_every_call(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = retrying_session("test")
    environment_read_once(session, URL)
    assert session.proxies["http"] == "http://proxy.example:3128"

    def read_again(*args, **kwargs):
        raise AssertionError("the environment was read again")

    # requests reads it through these at every call while trust_env is on.
    monkeypatch.setattr(requests.sessions, "get_environ_proxies", read_again)
    monkeypatch.setattr(requests.utils, "get_environ_proxies", read_again)
    with responses.RequestsMock() as mock:
        mock.post(URL + "/x", json={})
        session.post(URL + "/x", json={}, proxies={})
    assert session.trust_env is False


def test_a_host_in_no_proxy_gets_no_proxy(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "shareid.example")
    session = requests.Session()
    environment_read_once(session, URL)
    assert "http" not in session.proxies


def test_the_shareid_client_reads_its_proxy_once(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = ShareIDClient(api_url=URL, business_hash="2915ac99", api_key="fl-00ea000defabc")
    assert client.http.trust_env is False
    assert client.http.proxies["http"] == "http://proxy.example:3128"
