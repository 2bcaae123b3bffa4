"""In development the app and the sandbox share one SQLite database, and the app reads an
identification back inside a transaction of its own (an IDENTIFICATION hint is fetched while its
inbound event is claimed). A read of the sandbox's API must then not need the write lock: SQLite
has one, and the sandbox would wait for the app, which waits for the sandbox."""

import base64

import pytest
import requests
from django.db import transaction

from kyc.models import Customer
from providers.solaris.sandbox import credentials

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_identification_is_read_while_the_partner_holds_a_write_transaction(live_server):
    api = f"{live_server.url}/sandbox/solaris"
    basic = base64.b64encode(f"{credentials.CLIENT_ID}:{credentials.CLIENT_SECRET}".encode()).decode()
    with requests.Session() as http:
        token = http.post(
            f"{api}/oauth2/token",
            data={"grant_type": "client_credentials", "scope": "partners"},
            headers={"Authorization": f"Basic {basic}"},
            timeout=10,
        )
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        person = http.post(f"{api}/v1/persons", json={"first_name": "Ada", "last_name": "Lock"}, timeout=10)
        identifications = f"{api}/v1/persons/{person.json()['id']}/identifications"
        created = http.post(identifications, json={"method": "idnow"}, timeout=10).json()
        http.patch(f"{identifications}/{created['id']}/request", json={}, timeout=10).raise_for_status()

        with transaction.atomic():
            Customer.objects.create(external_ref="LOCK-1", first_name="Ada")  # the app's write lock
            read = http.get(f"{identifications}/{created['id']}", timeout=10)
            documents = http.get(f"{identifications}/{created['id']}/documents", timeout=10)
    assert (read.status_code, read.json()["status"]) == (200, "pending")
    assert documents.status_code == 200
