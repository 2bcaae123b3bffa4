"""Demo data for `make run`: a staff login and fictional customers (no real people)."""

import datetime as dt
import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from kyc import services
from kyc.flow.links import start_url
from kyc.models import Customer

DEMO_CUSTOMERS = [
    # Fictional people; the names are Veriff's own test names where useful (veriff.md §4.1).
    ("DEMO-0001", "Ada", "Example", "ada@example.com", dt.date(1985, 4, 12), "EE"),
    ("DEMO-0002", "Bruno", "Sample", "bruno@example.com", dt.date(1990, 9, 3), "DE"),
    ("DEMO-0003", "Chloe", "Testperson", "chloe@example.com", dt.date(1978, 1, 27), "FR"),
    ("DEMO-0004", "Dmitri", "Placeholder", "dmitri@example.com", dt.date(2000, 6, 30), "LV"),
    ("DEMO-0005", "Eva", "Fictional", "eva@example.com", dt.date(1969, 11, 5), "GB"),
]


class Command(BaseCommand):
    help = "Create the demo staff user and demo customers (idempotent); print the login and start links."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    @transaction.atomic
    def handle(self, *args, username, **options):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        password = None
        if user is None:
            password = os.environ.get("KYC_DEMO_PASSWORD") or secrets.token_urlsafe(12)
            user = User.objects.create_superuser(
                username=username, email="admin@example.com", password=password
            )
        for ref, first, last, email, dob, country in DEMO_CUSTOMERS:
            if not Customer.objects.filter(external_ref=ref).exists():
                services.customer_create(
                    external_ref=ref,
                    first_name=first,
                    last_name=last,
                    email=email,
                    date_of_birth=dob,
                    country=country,
                    actor=user,
                )
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        if password:
            self.stdout.write(
                f"Staff login: {settings.KYC_PUBLIC_URL}/admin/  user: {username}  password: {password}"
            )
        else:
            self.stdout.write(
                f"Staff login: {settings.KYC_PUBLIC_URL}/admin/  user: {username} "
                "(password printed when it was created; reset: python manage.py changepassword "
                f"{username})"
            )
        for customer in Customer.objects.filter(external_ref__startswith="DEMO-").order_by("external_ref"):
            self.stdout.write(f"  {customer.external_ref} {customer.full_name}: {start_url(customer.pk)}")
