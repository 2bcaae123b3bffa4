"""Every delivery is visible in the admin with each try, and can be replayed from there."""

import pytest
from django.contrib.auth import get_user_model

from kyc.models import VerificationSession
from kyc.services import customers
from notifications.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "pw-Long-enough-1"))
    return client


def test_register_an_endpoint_in_the_admin_and_see_its_deliveries(admin_client, receiver, customer, settings):
    settings.NOTIFICATIONS_RETRY_BASE = 3600
    r = receiver(500)
    response = admin_client.post("/admin/notifications/endpoint/add/", {"url": r.url, "description": "ops"})
    assert response.status_code == 302
    endpoint = Endpoint.objects.get()
    assert endpoint.secret.startswith("whsec_")
    assert (
        endpoint.secret
        in admin_client.get(f"/admin/notifications/endpoint/{endpoint.pk}/change/").content.decode()
    )

    VerificationSession.objects.create(customer=customer, provider="veriff")
    customers.customer_refresh_kyc_status(customer=customer)
    delivery = Delivery.objects.get()
    listing = admin_client.get("/admin/notifications/delivery/").content.decode()
    assert "customer.kyc_status.changed" in listing and "Pending" in listing
    page = admin_client.get(f"/admin/notifications/delivery/{delivery.pk}/change/").content.decode()
    assert "HTTP 500" in page

    response = admin_client.post(
        "/admin/notifications/delivery/", {"action": "replay", "_selected_action": [delivery.pk]}, follow=True
    )
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.state == "succeeded" and delivery.attempts == 2
    assert len(r.succeeded()) == 1


def test_the_admin_refuses_a_non_public_url(admin_client, settings):
    settings.NOTIFICATIONS_ALLOWED_NETWORKS = []
    response = admin_client.post(
        "/admin/notifications/endpoint/add/", {"url": "http://169.254.169.254/latest/meta-data/"}
    )
    assert response.status_code == 200 and "Must point to a public address" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_the_admin_rotates_a_secret_with_an_overlap(admin_client, receiver, settings):
    settings.NOTIFICATIONS_SECRET_OVERLAP = 600
    from notifications.services import endpoint_create, endpoint_signing_secrets

    endpoint = endpoint_create(url=receiver().url)
    old = endpoint.secret
    response = admin_client.post(
        "/admin/notifications/endpoint/", {"action": "rotate_secret", "_selected_action": [endpoint.pk]}
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert endpoint_signing_secrets(endpoint) == [endpoint.secret, old]
    page = admin_client.get(f"/admin/notifications/endpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret in page and old not in page


def test_the_admin_refuses_plain_http_where_https_is_required(admin_client, settings):
    settings.NOTIFICATIONS_REQUIRE_HTTPS = True
    response = admin_client.post("/admin/notifications/endpoint/add/", {"url": "http://example.com/kyc"})
    assert response.status_code == 200 and "Must be an https:// URL." in response.content.decode()
    assert not Endpoint.objects.exists()


def test_the_service_refuses_plain_http_where_https_is_required(settings, db):
    from notifications.services import EndpointRefused, endpoint_create

    settings.NOTIFICATIONS_REQUIRE_HTTPS = True
    with pytest.raises(EndpointRefused, match="https://"):
        endpoint_create(url="http://example.com/kyc")
