"""`manage.py solaris_webhooks sync|list|delete <id>|reseal`: our webhook subscriptions at Solaris
(providers/solaris/README.md, "Subscriptions"; docs/operations.md, "Solaris webhooks")."""

import time

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from providers.base import ProviderError
from providers.registry import UnknownProvider, get_provider
from providers.solaris import subscriptions
from providers.solaris.provider import SolarisProvider
from providers.solaris.sealing import SealBroken

# Where Solaris delivers: the app's one Solaris URL (webhooks/urls.py).
RECEIVER_PATH = "/webhooks/solaris/"


class Command(BaseCommand):
    help = (
        "Solaris webhook subscriptions. sync: create those the app needs (IDENTIFICATION, "
        "PERSON_CHANGED, PERSON_DELETED) at KYC_PUBLIC_URL/webhooks/solaris/, keep their secrets "
        "sealed, replace those at an old URL; list: ours and Solaris's; delete ID: at both; "
        "reseal: seal every secret with the first key of SOLARIS_WEBHOOK_SECRET_KEYS."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        sync = actions.add_parser("sync", help="create or replace the subscriptions the app needs")
        sync.add_argument("--url", help="where Solaris delivers (default: KYC_PUBLIC_URL/webhooks/solaris/)")
        sync.add_argument(
            "--wait",
            type=float,
            default=0,
            metavar="SECONDS",
            help="first wait up to this long for the app to answer at KYC_PUBLIC_URL/healthz "
            "(`make run` starts the sync beside the server it needs)",
        )
        actions.add_parser("list", help="our subscriptions and Solaris's (never a secret)")
        delete = actions.add_parser("delete", help="delete one subscription at Solaris and here")
        delete.add_argument("subscription_id")
        actions.add_parser("reseal", help="seal every kept secret with the first key (after a rotation)")

    def handle(self, *args, action, **options):
        try:
            provider = get_provider("solaris")
        except UnknownProvider:
            raise CommandError("Solaris is not enabled (KYC_ENABLED_PROVIDERS)") from None
        except ProviderError as exc:
            raise CommandError(str(exc)) from None
        if not isinstance(provider, SolarisProvider):
            raise CommandError("KYC_PROVIDERS['solaris'] is not providers.solaris.provider.SolarisProvider")
        try:
            getattr(self, f"_{action}")(provider, **options)
        except (ProviderError, SealBroken) as exc:
            raise CommandError(str(exc)) from None

    def _sync(self, provider: SolarisProvider, *, url: str | None, wait: float, **options) -> None:
        url = url or settings.KYC_PUBLIC_URL.rstrip("/") + RECEIVER_PATH
        if wait > 0:
            _app_wait(settings.KYC_PUBLIC_URL.rstrip("/") + "/healthz", wait)
        try:
            steps = subscriptions.subscriptions_sync(
                api=provider.webhook_subscriptions_api(), seal=provider.seal, url=url
            )
        except ProviderError as exc:
            raise ProviderError(
                f"{exc}\n(Solaris calls {url} before it creates a subscription: the app must be "
                "serving there, e.g. `make run` in another terminal.)"
            ) from exc
        for step in steps:
            why = f" ({step.why})" if step.why else ""
            self.stdout.write(f"{step.action:9} {step.event_type:15} {step.subscription_id}  {step.url}{why}")
        changed = [step for step in steps if step.action != "kept"]
        self.stdout.write(f"{len(changed)} change(s)" if changed else "nothing to change")

    def _list(self, provider: SolarisProvider, **options) -> None:
        listed = subscriptions.subscriptions_list(
            api=provider.webhook_subscriptions_api(), seal=provider.seal
        )
        if not listed:
            self.stdout.write("no subscriptions")
        for row in listed:
            if not row.held:
                state = "at Solaris only: not ours, or its secret is not held here"
            elif not row.at_solaris:
                state = "held here only: Solaris no longer has it (sync forgets it)"
            elif not row.opens:
                state = "ours, but no key of SOLARIS_WEBHOOK_SECRET_KEYS opens its secret"
            else:
                state = "ours"
            self.stdout.write(f"{row.event_type:15} {row.subscription_id}  {row.url}  [{state}]")

    def _delete(self, provider: SolarisProvider, *, subscription_id: str, **options) -> None:
        at_solaris, here = subscriptions.subscription_delete(
            api=provider.webhook_subscriptions_api(), subscription_id=subscription_id
        )
        if not at_solaris and not here:
            raise CommandError(f"no subscription {subscription_id} at Solaris or here")
        where = " and ".join(w for w, done in (("at Solaris", at_solaris), ("here", here)) if done)
        self.stdout.write(f"deleted {subscription_id} {where}")

    def _reseal(self, provider: SolarisProvider, **options) -> None:
        count = subscriptions.subscriptions_reseal(seal=provider.seal)
        self.stdout.write(f"{count} secret(s) sealed with the first key")


def _app_wait(url: str, seconds: float) -> None:
    """Until `url` answers 200, for at most `seconds`: Solaris's handshake needs the app serving."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise CommandError(f"the app did not answer at {url} within {seconds:g} s")
        time.sleep(0.5)
