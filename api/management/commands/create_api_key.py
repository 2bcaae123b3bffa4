from django.core.management.base import BaseCommand, CommandError

from api.models import ApiKey
from api.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key. The key is printed once, as the last word of the last line."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who uses the key, e.g. 'web backend'.")
        parser.add_argument(
            "--scopes",
            default="read",
            help=f"Comma-separated, among {','.join(ApiKey.Scope.values)} (default: read).",
        )

    def handle(self, *args, name, scopes, **options):
        wanted = [s.strip() for s in scopes.split(",") if s.strip()]
        try:
            api_key, raw_key = api_key_create(name=name, scopes=wanted)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Created API key {api_key.prefix}… '{name}' with scopes {','.join(api_key.scopes)}."
        )
        self.stdout.write("Store it now; it cannot be shown again:")
        self.stdout.write(f"Api-Key {raw_key}")
