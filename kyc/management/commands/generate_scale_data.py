"""Fictional data at scale, for the back-office benchmark (benchmarks/backoffice.py) and for
trying the back-office with a realistic volume: customers, their sessions, attempts, provider
decisions, media rows and audit events, inserted in bulk.

    python manage.py generate_scale_data                      # 100,000 / 200,000 / 1,000,000
    python manage.py generate_scale_data --customers 10000 --sessions 20000 --media 100000

Media rows are records only (state "pending", no file): the back-office pages list them, they
are never downloaded. Nobody real is in here: names are drawn from a fixed list of made-up ones.
This is test data: it bypasses kyc.services on purpose (one INSERT per thousand rows instead of a
transaction per row), and is never run against a production database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import sys
import time
import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from kyc import status as st
from kyc.audit import audit_bulk_insert
from kyc.models import Attempt, AuditEvent, Customer, Media, ProviderDecision, VerificationSession
from kyc.reviews.queue_state import queue_refresh

FIRST = [
    "Ada",
    "Bruno",
    "Chloe",
    "Dmitri",
    "Eva",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kaisa",
    "Lars",
    "Maja",
    "Niko",
    "Olga",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Ugo",
    "Vera",
    "Wim",
    "Xenia",
    "Yusuf",
    "Zofia",
    "Aino",
    "Bilal",
    "Carmen",
    "Dario",
    "Elif",
    "Fionn",
    "Gaia",
    "Henrik",
    "Ilse",
    "Jakub",
    "Keira",
    "Luca",
    "Mirela",
    "Noor",
    "Oskar",
    "Pia",
    "Rafael",
    "Selma",
    "Tomas",
    "Una",
    "Viktor",
    "Wanda",
    "Yara",
    "Zeno",
]
LAST = [
    "Example",
    "Sample",
    "Testperson",
    "Placeholder",
    "Fictional",
    "Mockley",
    "Dummer",
    "Specimen",
    "Prototyp",
    "Fakeworth",
    "Madeup",
    "Notreal",
    "Sandboxer",
    "Imaginary",
    "Inventa",
    "Pretendo",
    "Simulato",
    "Exemplar",
    "Modello",
    "Trialson",
    "Draftley",
    "Quasi",
    "Faux",
    "Ersatz",
    "Schein",
    "Pseudo",
    "Nominal",
    "Phantom",
    "Hypothet",
    "Conjectur",
    "Figment",
    "Fablewood",
    "Mythe",
    "Legendre",
    "Storey",
    "Novella",
    "Parable",
    "Allegor",
    "Fiktiv",
    "Kuvitelma",
]
COUNTRIES = ("EE", "DE", "FR", "LV", "GB", "ES", "IT", "NL", "PL", "SE", "FI", "PT", "IE", "AT", "BE")
# Where the latest session of a customer stands; earlier sessions ended (expired, declined, …).
LATEST_STATUSES = (
    (st.APPROVED, 55),
    (st.DECLINED, 10),
    (st.RESUBMISSION_REQUESTED, 8),
    (st.REVIEW, 7),
    (st.STARTED, 8),
    (st.SUBMITTED, 4),
    (st.CREATED, 3),
    (st.EXPIRED, 3),
    (st.ABANDONED, 2),
)
EARLIER_STATUSES = ((st.EXPIRED, 5), (st.ABANDONED, 3), (st.DECLINED, 2))
KYC_STATUS = {
    st.APPROVED: Customer.KycStatus.VERIFIED,
    st.DECLINED: Customer.KycStatus.REJECTED,
    st.REVIEW: Customer.KycStatus.IN_REVIEW,
    st.RESUBMISSION_REQUESTED: Customer.KycStatus.ACTION_REQUIRED,
    st.EXPIRED: Customer.KycStatus.ACTION_REQUIRED,
    st.ABANDONED: Customer.KycStatus.ACTION_REQUIRED,
}
DECISION_CODES = {
    st.APPROVED: (9001, ""),
    st.DECLINED: (9102, "102"),
    st.RESUBMISSION_REQUESTED: (9103, "204"),
    st.REVIEW: (9121, ""),
    st.EXPIRED: (9104, ""),
    st.ABANDONED: (9104, ""),
}
MEDIA_CONTEXTS = (
    ("document-front", "image", "image/jpeg"),
    ("document-back", "image", "image/jpeg"),
    ("face", "image", "image/png"),
    ("video", "video", "video/mp4"),
    ("face-pre", "image", "image/jpeg"),
)
CHUNK = 2000  # customers per transaction


def _spread(total: int, parts: int, index: int) -> int:
    """How many of `total` items the `index`-th of `parts` gets: exact totals, evenly spread."""
    return (index + 1) * total // parts - index * total // parts


@contextlib.contextmanager
def _timestamps_as_given():
    """auto_now/auto_now_add would stamp every row "now"; a queue needs ages. Switched off on the
    model fields for the duration of the command only."""
    fields = [
        f
        for model in (Customer, VerificationSession, Attempt, ProviderDecision, Media, AuditEvent)
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


class Progress:
    """A one-line progress bar on stderr (written here: a dependency for one line is not worth it).
    It counts customers (each with everything hanging off them) and shows the rows written."""

    def __init__(self, total: int, stream=None):
        self.total, self.done, self.rows, self.started = total, 0, 0, time.monotonic()
        self.stream = stream or sys.stderr

    def advance(self, customers: int, rows: int) -> None:
        self.done += customers
        self.rows += rows
        elapsed = time.monotonic() - self.started
        share = self.done / self.total if self.total else 1
        rate = self.rows / elapsed if elapsed else 0
        eta = elapsed / share - elapsed if share else 0
        self.stream.write(
            f"\r[{'#' * int(share * 30):<30}] {share:6.1%} {self.done:,}/{self.total:,} customers, "
            f"{self.rows:,} rows, {rate:,.0f} rows/s, {elapsed:.0f}s, ~{eta:.0f}s left "
        )
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = "Generate fictional customers, sessions, attempts, decisions, media and audit rows in bulk."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=100_000)
        parser.add_argument("--sessions", type=int, default=200_000)
        parser.add_argument("--media", type=int, default=1_000_000)
        parser.add_argument("--seed", type=int, default=6)
        parser.add_argument("--prefix", default="SCALE-", help="external reference prefix (unique per run)")
        parser.add_argument("--days", type=int, default=365, help="spread creation times over this many days")

    def handle(self, *args, customers, sessions, media, seed, prefix, days, **options):
        if customers < 1 or sessions < customers or media < 0:
            raise CommandError("need at least one customer and at least one session per customer")
        if Customer.objects.filter(external_ref__startswith=prefix).exists():
            raise CommandError(f"customers with prefix {prefix!r} exist already: choose another --prefix")
        self.rng = random.Random(seed)
        self.now = timezone.now()
        self.days = days
        progress = Progress(customers, self.stderr._out)
        counts = dict.fromkeys(("customers", "sessions", "attempts", "decisions", "media", "audit"), 0)
        with _timestamps_as_given():
            for start in range(0, customers, CHUNK):
                stop = min(customers, start + CHUNK)
                with transaction.atomic():
                    made = self._chunk(start, stop, customers, sessions, media, prefix)
                for key, value in made.items():
                    counts[key] += value
                progress.advance(stop - start, sum(made.values()))
        progress.finish()
        self.stdout.write(
            self.style.SUCCESS(", ".join(f"{value:,} {key}" for key, value in counts.items()) + " created.")
        )

    # -- one chunk of customers with everything that hangs off them -------------------------------
    def _chunk(self, start, stop, total_customers, total_sessions, total_media, prefix) -> dict[str, int]:
        rng = self.rng
        customers = []
        for i in range(start, stop):
            first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
            created = self._moment(max_age_days=self.days)
            customers.append(
                Customer(
                    external_ref=f"{prefix}{i:07d}",
                    first_name=first,
                    last_name=f"{last}{i // (len(FIRST) * len(LAST)) or ''}",
                    email=f"{first.lower()}.{last.lower()}.{i}@example.com",
                    date_of_birth=dt.date(1950 + i % 55, 1 + i % 12, 1 + i % 28),
                    country=COUNTRIES[i % len(COUNTRIES)],
                    created_at=created,
                    updated_at=created,
                )
            )
        Customer.objects.bulk_create(customers)

        sessions, session_customer = [], []
        for offset, customer in enumerate(customers):
            count = _spread(total_sessions, total_customers, start + offset)
            moments = sorted(self._moment(newer_than=customer.created_at) for _ in range(count))
            for n, moment in enumerate(moments):
                latest = n == count - 1
                status = self._pick(LATEST_STATUSES if latest else EARLIER_STATUSES)
                sessions.append(self._session(customer, status, moment))
                session_customer.append(customer)
            customer.kyc_status = KYC_STATUS.get(sessions[-1].status, Customer.KycStatus.IN_PROGRESS)
            customer.kyc_status_changed_at = sessions[-1].status_changed_at
        VerificationSession.objects.bulk_create(sessions)
        Customer.objects.bulk_update(customers, ["kyc_status", "kyc_status_changed_at"])

        attempts = [
            Attempt(
                session=s,
                provider_attempt_id=str(uuid.UUID(int=rng.getrandbits(128))),
                status=s.status,
                created_at=s.started_at or s.created_at,
                updated_at=s.status_changed_at,
            )
            for s in sessions
            if s.status != st.CREATED
        ]
        Attempt.objects.bulk_create(attempts)
        attempt_of = {a.session.pk: a for a in attempts}

        decisions = [self._decision(s, attempt_of.get(s.pk)) for s in sessions if s.status in st.DECISIONS]
        ProviderDecision.objects.bulk_create(decisions)

        media = []
        first_session = start * total_sessions // total_customers
        for offset, session in enumerate(sessions):
            session_index = first_session + offset
            # 2 fewer to 2 more than the average, in turn (the total stays exact): case pages of
            # every size, which must all cost the same number of queries.
            count = max(0, _spread(total_media, total_sessions, session_index) + session_index % 5 - 2)
            attempt = attempt_of.get(session.pk)
            for n in range(count):
                context, kind, mime = MEDIA_CONTEXTS[n % len(MEDIA_CONTEXTS)]
                media.append(
                    Media(
                        session=session,
                        attempt=attempt,
                        provider_media_id=str(uuid.UUID(int=rng.getrandbits(128))),
                        context=context if n < len(MEDIA_CONTEXTS) else f"{context}-{n}",
                        kind=kind,
                        name=context,
                        mime_type=mime,
                        created_at=session.decided_at or session.created_at,
                    )
                )
        Media.objects.bulk_create(media, batch_size=5000)

        audit = [
            AuditEvent(
                created_at=c.created_at,
                actor_label="system",
                action="customer.created",
                customer=c,
                object_type="kyc.customer",
                object_id=str(c.pk),
                after={"external_ref": c.external_ref},
            )
            for c in customers
        ]
        for session, customer in zip(sessions, session_customer, strict=True):
            audit += self._session_audit(session, customer)
        audit_bulk_insert(audit)  # hash-chained like every entry (kyc.audit)
        # The review queue is stored on the sessions (kyc.reviews.queue_state): these join it.
        queue_refresh(VerificationSession.objects.filter(customer_id__in=[c.pk for c in customers]))
        return {
            "customers": len(customers),
            "sessions": len(sessions),
            "attempts": len(attempts),
            "decisions": len(decisions),
            "media": len(media),
            "audit": len(audit),
        }

    def _session(self, customer, status, created) -> VerificationSession:
        rng = self.rng
        session_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        started = created + dt.timedelta(minutes=rng.randint(1, 60)) if status != st.CREATED else None
        submitted = (
            started + dt.timedelta(minutes=rng.randint(2, 20))
            if started and status not in (st.STARTED, st.EXPIRED, st.ABANDONED)
            else None
        )
        decided = (submitted or started or created) + dt.timedelta(minutes=rng.randint(1, 600))
        decided = min(decided, self.now) if status in st.DECISIONS else None
        return VerificationSession(
            reference=uuid.UUID(int=rng.getrandbits(128), version=4),
            customer=customer,
            provider="veriff",
            provider_session_id=session_id,
            hosted_url=f"https://magic.veriff.me/v/{session_id}",
            status=status,
            created_at=created,
            updated_at=decided or submitted or started or created,
            status_changed_at=decided or submitted or started or created,
            provider_created_at=created,
            started_at=started,
            submitted_at=submitted,
            decided_at=decided,
            last_decision_time=decided,
        )

    def _decision(self, session, attempt) -> ProviderDecision:
        code, reason_code = DECISION_CODES[session.status]
        customer = session.customer
        return ProviderDecision(
            session=session,
            attempt=attempt,
            dedupe_key=f"scale:{session.provider_session_id}",
            status=session.status,
            provider_status=session.status,
            code=code,
            reason="Suspected document tampering." if reason_code == "102" else "",
            reason_code=reason_code,
            person={"firstName": customer.first_name.upper(), "lastName": customer.last_name.upper()},
            document={"type": "PASSPORT", "number": f"SBX{session.pk:08d}", "country": customer.country},
            decided_at=session.decided_at,
            received_at=session.decided_at,
            applied=True,
            raw={"status": "success", "verification": {"id": session.provider_session_id, "code": code}},
        )

    def _session_audit(self, session, customer) -> list[AuditEvent]:
        common = {
            "actor_label": "provider:veriff",
            "customer": customer,
            "session": session,
            "object_type": "kyc.verificationsession",
            "object_id": str(session.pk),
        }
        rows = [
            AuditEvent(
                created_at=session.created_at,
                action="session.created",
                after={"status": st.CREATED, "provider": "veriff"},
                **{**common, "actor_label": "end-user"},
            )
        ]
        if session.status != st.CREATED:
            rows.append(
                AuditEvent(
                    created_at=session.status_changed_at,
                    action="session.status_changed",
                    before={"status": st.CREATED},
                    after={"status": session.status},
                    **common,
                )
            )
        if session.decided_at:
            rows.append(
                AuditEvent(
                    created_at=session.decided_at,
                    action="session.provider_decision",
                    after={"status": session.status, "applied": True},
                    **common,
                )
            )
        return rows

    def _moment(self, *, max_age_days: int = 0, newer_than=None) -> dt.datetime:
        if newer_than is not None:
            span = max(1.0, (self.now - newer_than).total_seconds())
            return newer_than + dt.timedelta(seconds=self.rng.random() * span)
        return self.now - dt.timedelta(seconds=self.rng.random() * max_age_days * 86400)

    def _pick(self, weighted):
        values, weights = zip(*weighted, strict=True)
        return self.rng.choices(values, weights)[0]
