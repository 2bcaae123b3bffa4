"""Providers as staff read them: ShareID is "ShareID" in the queue's provider filter and in the
customer list's "Start a verification" choice, while "shareid" stays the value sent and stored."""

import pytest

from providers import registry
from tests.fake_provider import DOTTED
from tests.providers_config import with_provider

pytestmark = pytest.mark.django_db


def test_each_provider_has_a_display_name(settings):
    with_provider(settings, "tiny", DOTTED)
    names = dict(registry.provider_choices())
    assert names["shareid"] == "ShareID"
    assert names["veriff"] == "Veriff" and names["solaris"] == "Solaris"
    assert names["tiny"] == "Tiny"  # the default: the name, capitalized
    assert registry.display_name("gone") == "gone"  # no longer enabled: its stored name


def test_the_queue_filter_names_shareid(client, supervisor):
    client.force_login(supervisor)
    page = client.get("/admin/kyc/case/?all=").content.decode()
    assert '<a href="?all=&amp;provider=shareid">ShareID</a>' in page


def test_the_start_action_offers_shareid_by_its_name(client, supervisor):
    client.force_login(supervisor)
    page = client.get("/admin/kyc/customer/").content.decode()
    assert '<option value="shareid">ShareID</option>' in page
