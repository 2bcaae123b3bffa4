"""The sandbox over a real socket: a notification received by a real HTTP server (the handshake,
then a signed delivery), as the app will receive them."""

import hashlib
import hmac
import http.server
import json
import threading

import pytest
import requests

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append((dict(self.headers), body))
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_receiver():
    handler = type("TestReceiver", (Receiver,), {"received": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_port}/webhooks/solaris/"
    yield handler
    server.shutdown()
    server.server_close()


def token(base: str, basic: str) -> requests.Response:
    return requests.post(
        base + "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "partners"},
        headers={"Authorization": basic},
        timeout=10,
    )


def test_a_notification_reaches_a_real_receiver_signed(live_server, solaris, http_receiver):
    base = live_server.url + solaris.prefix
    bearer = {"Authorization": "Bearer " + token(base, solaris.basic()).json()["access_token"]}
    subscription = requests.post(
        base + "/v1/webhooks",
        json={"event_type": "PERSON_CHANGED", "url": http_receiver.url},
        headers=bearer,
        timeout=10,
    ).json()
    person = requests.post(
        base + "/v1/persons", json={"first_name": "Anna", "last_name": "Schmidt"}, headers=bearer, timeout=10
    ).json()

    requests.post(base + f"/control/persons/{person['id']}/changed", json={}, timeout=10)

    (handshake_headers, handshake_body), (headers, body) = http_receiver.received
    assert handshake_headers["Solaris-Webhook-Event-Type"] == "WEBHOOK-SUBSCRIPTION"
    assert handshake_body == b""
    assert headers["Solaris-Entity-Id"] == person["id"]
    algorithm, signature = headers["Solaris-Webhook-Signature"].split("=")
    assert (
        hmac.new(subscription["secret"].encode(), body, getattr(hashlib, algorithm)).hexdigest() == signature
    )
    (row,) = requests.get(base + "/control/deliveries", timeout=10).json()["deliveries"]
    assert row["state"] == "delivered"
    assert json.loads(row["body"]) == {}
