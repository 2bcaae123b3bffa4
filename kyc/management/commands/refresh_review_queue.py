"""Recompute every session's place in the review queue: after KYC_REVIEW_POLICY or
KYC_HIGH_RISK_COUNTRIES changed (the queue is stored, kyc.reviews.queue_state)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from kyc.models import VerificationSession
from kyc.reviews.queue_state import queue_refresh

BATCH = 5000


class Command(BaseCommand):
    help = "Recompute the review queue for every session (run after changing the review policy)."

    def handle(self, *args, **options):
        ids = list(VerificationSession.objects.order_by("pk").values_list("pk", flat=True))
        changed = 0
        for start in range(0, len(ids), BATCH):
            with transaction.atomic():
                batch = ids[start : start + BATCH]
                changed += queue_refresh(VerificationSession.objects.filter(pk__in=batch))
        queued = VerificationSession.objects.exclude(queued_at=None).count()
        self.stdout.write(self.style.SUCCESS(f"{changed} session(s) changed; {queued} in the review queue."))
