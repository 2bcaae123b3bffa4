"""One rule for the client's address (config/client_address.py), read by every throttle: the staff
login's (django-axes), the API's (DRF) and the webhooks' rejected deliveries."""

import pytest
from axes.helpers import get_client_ip_address
from django.conf import settings as django_settings
from django.test import RequestFactory
from rest_framework.throttling import SimpleRateThrottle

from webhooks.views import client_address as webhook_client_address


def request(forwarded=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR="198.51.100.7", **extra)


def drf_address(req):
    return SimpleRateThrottle.__new__(SimpleRateThrottle).get_ident(req)


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, None, "198.51.100.7"),
        (0, "192.0.2.1", "198.51.100.7"),  # a header the client wrote is ignored
        (1, "192.0.2.1", "192.0.2.1"),
        (1, "10.0.0.9, 192.0.2.1", "192.0.2.1"),  # the entry our one proxy appended
        (2, "10.0.0.9, 192.0.2.1, 203.0.113.5", "192.0.2.1"),
        (3, "192.0.2.1", "192.0.2.1"),  # fewer entries than proxies: the first
    ],
)
def test_every_throttle_reads_the_same_address(settings, count, forwarded, expected):
    settings.KYC_TRUSTED_PROXY_COUNT = count
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}  # as config/settings.py
    req = request(forwarded)
    assert get_client_ip_address(req) == expected
    assert webhook_client_address(req) == expected
    assert drf_address(req) == expected


def test_the_api_throttles_are_given_the_same_proxy_count():
    assert django_settings.REST_FRAMEWORK["NUM_PROXIES"] == django_settings.KYC_TRUSTED_PROXY_COUNT
    assert django_settings.AXES_CLIENT_IP_CALLABLE == "config.client_address.client_address"
