"""`manage.py solaris_webhooks` against the Solaris sandbox, whose POST /v1/webhooks calls our
real receiver for the handshake (tests/providers/solaris/hooks_support.py: `network`)."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from providers.solaris.models import WebhookSubscription
from tests.providers.solaris.hooks_support import (
    OTHER_PUBLIC_URL,
    RECEIVER_PATH,
    RECEIVER_URL,
    eager_tasks,  # noqa: F401 (autouse fixture)
    network_fixture,  # noqa: F401 (the `network` fixture)
    solaris,
)
from tests.providers_config import provider_options, with_options
from webhooks.models import InboundEvent

NEEDED = {"IDENTIFICATION", "PERSON_CHANGED", "PERSON_DELETED"}


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("solaris_webhooks", *args, stdout=out)
    return out.getvalue()


def at_solaris(network) -> dict[str, dict]:
    return {s["id"]: s for s in network.sandbox_subscriptions()}


def test_sync_creates_the_three_subscriptions_with_their_secrets_sealed(network):
    output = command("sync")
    assert "3 change(s)" in output
    remote = at_solaris(network)
    ours = {row.subscription_id: row for row in WebhookSubscription.objects.all()}
    assert set(ours) == set(remote)
    assert {row.event_type for row in ours.values()} == NEEDED
    for subscription_id, row in ours.items():
        assert row.url == RECEIVER_URL == remote[subscription_id]["url"]
        secret = remote[subscription_id]["secret"]
        assert secret not in row.sealed_secret and secret not in output
        assert solaris().seal.open(row.sealed_secret) == secret
    # Solaris made each only after our receiver answered its handshake, which left nothing stored.
    assert network.answers == [("WEBHOOK-SUBSCRIPTION", 200)] * 3
    assert not InboundEvent.objects.exists()


def test_a_second_sync_changes_nothing(network):
    command("sync")
    before = at_solaris(network)
    output = command("sync")
    assert "nothing to change" in output and output.count("kept") == 3
    assert at_solaris(network) == before
    assert WebhookSubscription.objects.count() == 3


def test_a_changed_url_replaces_each_subscription_new_one_first(network, settings):
    command("sync")
    old = set(at_solaris(network))
    settings.KYC_PUBLIC_URL = OTHER_PUBLIC_URL
    output = command("sync")
    assert output.count("created") == 3 and output.count("removed") == 3
    remote = at_solaris(network)
    assert not old & set(remote)
    assert {s["url"] for s in remote.values()} == {OTHER_PUBLIC_URL + RECEIVER_PATH}
    assert set(WebhookSubscription.objects.values_list("subscription_id", flat=True)) == set(remote)


def test_a_subscription_whose_secret_is_not_held_here_is_replaced(network):
    command("sync")
    lost = set(at_solaris(network))
    WebhookSubscription.objects.all().delete()  # a database restored from before the sync
    output = command("sync")
    assert output.count("replaced") == 3 and "its secret is not held here" in output
    assert not lost & set(at_solaris(network))
    assert WebhookSubscription.objects.count() == 3


def test_a_subscription_solaris_no_longer_has_is_forgotten_and_made_again(network):
    command("sync")
    gone = WebhookSubscription.objects.get(event_type="PERSON_DELETED").subscription_id
    assert network.api("DELETE", f"/webhooks/{gone}").status_code == 204  # deleted at Solaris by hand
    output = command("sync")
    assert "forgotten" in output and output.count("created") == 1
    assert {row.event_type for row in WebhookSubscription.objects.all()} == NEEDED


def test_list_shows_ours_and_others_never_a_secret(network):
    command("sync")
    foreign = network.api(
        "POST", "/webhooks", {"event_type": "BOOKING", "url": RECEIVER_URL + "?other"}
    ).json()
    output = command("list")
    for row in WebhookSubscription.objects.all():
        assert f"{row.subscription_id}  {RECEIVER_URL}  [ours]" in output
    assert f"{foreign['id']}" in output and "at Solaris only" in output
    for subscription in at_solaris(network).values():
        assert subscription["secret"] not in output


def test_delete_removes_a_subscription_at_solaris_and_here(network):
    command("sync")
    doomed = WebhookSubscription.objects.get(event_type="PERSON_CHANGED").subscription_id
    assert "at Solaris and here" in command("delete", doomed)
    assert doomed not in at_solaris(network)
    assert not WebhookSubscription.objects.filter(subscription_id=doomed).exists()
    with pytest.raises(CommandError, match="no subscription"):
        command("delete", doomed)


def test_reseal_moves_every_secret_to_a_new_first_key(network, settings):
    command("sync")
    old_keys = provider_options(settings, "solaris")["webhook_secret_keys"]
    new_key = Fernet.generate_key().decode()
    with_options(settings, "solaris", webhook_secret_keys=[new_key, *old_keys])
    assert "3 secret(s)" in command("reseal")
    with_options(settings, "solaris", webhook_secret_keys=[new_key])  # the old key removed
    assert "[ours]" in command("list") and "no key" not in command("list")


def test_without_a_sealing_key_sync_refuses_before_solaris_makes_a_secret(network, settings):
    with_options(settings, "solaris", webhook_secret_keys=[])
    with pytest.raises(CommandError, match="SOLARIS_WEBHOOK_SECRET_KEYS"):
        command("sync")
    assert at_solaris(network) == {}


def test_sync_says_the_app_must_be_serving_when_the_handshake_fails(network):
    network.receiver_down = True
    with pytest.raises(CommandError, match="the app must be serving there"):
        command("sync")
    assert at_solaris(network) == {} and not WebhookSubscription.objects.exists()


def test_sync_can_wait_for_the_app_to_serve_first(network):
    # `make run` starts it beside the server: it asks /healthz before anything else.
    assert "3 change(s)" in command("sync", "--wait", "5")
    assert network.mock.calls[0].request.url == "http://127.0.0.1:8000/healthz"
