"""Exports out of the back-office, each audited: the review queue as CSV, and a customer's case
file as a ZIP with the evidence, a manifest of SHA-256 digests (the stored one and the one of the
bytes as they are now), the decisions, comments and audit entries.

Both stream: the CSV row by row; the ZIP is written to a temporary file, each evidence file copied
into it in chunks (videos can be large), and served from there (never built in memory)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.db.models import QuerySet
from django.utils import timezone

from kyc.audit import audit_record
from kyc.casework import sla
from kyc.casework.audit_text import action_label, actor_label, describe, usernames
from kyc.media_serving import EXTENSIONS
from kyc.models import AuditEvent, CaseComment, Customer, Media, Review, VerificationSession
from kyc.services.reviews import require_permission

EXPORT_CASE = "kyc.export_case"
CHUNK = 1024 * 1024

QUEUE_COLUMNS = (
    "case",
    "customer_reference",
    "customer_name",
    "country",
    "status",
    "provider",
    "provider_reason_code",
    "in_queue_since",
    "hours_in_queue",
    "sla",
    "assignee",
    "override_awaiting_confirmation",
)


README = """KYC Desk case file

evidence/<session reference>/<media id>-<context>.<ext>   the files as stored, byte for byte
manifest.csv   every file of the customer: its stored SHA-256 (recorded when it was downloaded)
               and the SHA-256 of the bytes exported; check = match, MISMATCH (the stored file
               changed since), missing (not in storage) or not stored (never downloaded, or purged)
SHA256SUMS     the exported files' digests: `sha256sum -c SHA256SUMS` checks them
case.json      the customer, sessions, attempts, provider decisions, staff decisions and comments
audit.csv      the customer's audit entries in order, in words and as recorded (with the chain's
               hashes); the export itself is the audit entry "case.exported", which records this
               ZIP's SHA-256
"""


class _Echo:
    def write(self, value):
        return value


def _cell(value: Any) -> str:
    """A spreadsheet opens a cell starting with = + - @ as a formula: a customer's name must never
    run as one (CSV injection), so such text is prefixed with a quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def queue_csv(cases: QuerySet, *, actor, filters: dict[str, str], searched: bool) -> Iterator[str]:
    """The queue's rows (a queryset of kyc.queue.review_queue(), filtered as the list is) as CSV
    lines. The export is audited first, with the filters used but not the search text (it may be a
    name; the trail keeps no personal values)."""
    require_permission(actor, EXPORT_CASE)
    audit_record(action="queue.exported", actor=actor, after={"filters": filters, "searched": searched})
    writer = csv.writer(_Echo())
    now = timezone.now()

    def rows() -> Iterator[str]:
        yield writer.writerow(QUEUE_COLUMNS)
        for case in cases.iterator(chunk_size=2000):
            since = case.queued_since
            yield writer.writerow(
                [
                    case.pk,
                    _cell(case.customer.external_ref),
                    _cell(case.customer.full_name),
                    case.customer.country,
                    case.status,
                    case.provider,
                    _cell(case.reason_code or ""),
                    since.isoformat() if since else "",
                    round((now - since).total_seconds() / 3600, 1) if since else "",
                    sla.sla_state(since, now),
                    case.assignee.get_username() if case.assignee_id else "",
                    "yes" if case.awaiting_confirmation else "no",
                ]
            )

    return rows()


@dataclass
class ManifestRow:
    path: str
    media_id: int
    session: str
    context: str
    state: str
    mime_type: str
    size: int | None
    stored_sha256: str
    actual_sha256: str
    check: str  # match | MISMATCH | missing | not stored


def _copy_hashed(source: IO[bytes], out: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        out.write(chunk)
    return digest.hexdigest()


def _write_text(archive: zipfile.ZipFile, name: str, text: str) -> None:
    archive.writestr(name, text.encode(), compress_type=zipfile.ZIP_DEFLATED)


def _csv_text(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _time(value) -> str | None:
    return value.isoformat() if value else None


def case_file_export(*, customer_id: int, actor) -> tuple[IO[bytes], str, list[ManifestRow]]:
    """The customer's case file as a ZIP in a temporary file (deleted when closed), positioned at
    its start; returns it, its file name and the manifest. Audited ("case.exported") with the
    number of files, those whose bytes no longer match their stored digest, and the ZIP's own
    SHA-256, so that a copy handed out can be matched to the entry."""
    require_permission(actor, EXPORT_CASE)
    customer = Customer.objects.get(pk=customer_id)
    sessions = list(
        VerificationSession.objects.filter(customer=customer)
        .order_by("created_at", "id")
        .prefetch_related("decisions", "attempts")
    )
    media = list(
        Media.objects.filter(session__customer=customer)
        .select_related("session")
        .order_by("session_id", "created_at", "id")
    )
    # Closed by the response that streams it (FileResponse), or below on an error; deleted then.
    out = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        manifest = _write_zip(out, customer, sessions, media)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    digest = hashlib.sha256()
    while chunk := out.read(CHUNK):
        digest.update(chunk)
    out.seek(0)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    name = f"case-file-{customer.external_ref if not customer.erased_at else customer.pk}-{stamp}.zip"
    audit_record(
        action="case.exported",
        actor=actor,
        customer=customer,
        object=customer,
        after={
            "files": sum(1 for r in manifest if r.path),
            "mismatched": [r.media_id for r in manifest if r.check == "MISMATCH"],
            "sha256": digest.hexdigest(),
        },
    )
    return out, _safe_name(name), manifest


def _write_zip(out: IO[bytes], customer: Customer, sessions, media: list[Media]) -> list[ManifestRow]:
    manifest: list[ManifestRow] = []
    with zipfile.ZipFile(out, "w", allowZip64=True) as archive:
        for m in media:
            ref = str(m.session.reference)
            ext = EXTENSIONS.get(m.proven_type or m.mime_type, "")
            path = f"evidence/{ref}/{m.pk}-{m.context or 'file'}{ext}"
            row = ManifestRow(path, m.pk, ref, m.context, m.state, m.shown_type, m.size, m.sha256, "", "")
            if m.state != Media.State.STORED or not m.file:
                row.path, row.check = "", "not stored"
            else:
                try:
                    source = m.file.open("rb")
                except FileNotFoundError:
                    row.path, row.check = "", "missing"
                else:
                    # Evidence is already compressed (JPEG, PNG, MP4): stored as is, streamed in.
                    info = zipfile.ZipInfo(path, date_time=_zip_time(m))
                    with source, archive.open(info, "w", force_zip64=True) as dest:
                        row.actual_sha256 = _copy_hashed(source, dest)
                    row.check = "match" if row.actual_sha256 == m.sha256 else "MISMATCH"
            manifest.append(row)
        _write_text(
            archive,
            "manifest.csv",
            _csv_text(
                ManifestRow.__dataclass_fields__.keys(),
                ([getattr(r, f) for f in ManifestRow.__dataclass_fields__] for r in manifest),
            ),
        )
        # The usual `sha256sum -c SHA256SUMS` format, over the bytes as exported.
        _write_text(
            archive,
            "SHA256SUMS",
            "".join(f"{r.actual_sha256}  {r.path}\n" for r in manifest if r.path),
        )
        _write_text(
            archive, "case.json", json.dumps(_case_record(customer, sessions), indent=2, ensure_ascii=False)
        )
        _write_text(archive, "audit.csv", _audit_csv(customer))
        _write_text(archive, "README.txt", README)
    return manifest


def _zip_time(media: Media) -> tuple[int, int, int, int, int, int]:
    when = media.stored_at or media.created_at
    return (max(1980, when.year), when.month, when.day, when.hour, when.minute, when.second)


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _case_record(customer: Customer, sessions: list[VerificationSession]) -> dict:
    reviews = Review.objects.filter(customer=customer).select_related(
        "reason", "proposed_by", "confirmed_by", "rejected_by"
    )
    comments = CaseComment.objects.filter(customer=customer).select_related("author")
    return {
        "customer": {
            "id": customer.pk,
            "external_ref": customer.external_ref,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "email": customer.email,
            "date_of_birth": _time(customer.date_of_birth),
            "country": customer.country,
            "kyc_status": customer.kyc_status,
            "erased_at": _time(customer.erased_at),
        },
        "sessions": [
            {
                "id": s.pk,
                "reference": str(s.reference),
                "provider": s.provider,
                "provider_session_id": s.provider_session_id,
                "status": s.status,
                "created_at": _time(s.created_at),
                "decided_at": _time(s.decided_at),
                "attempts": [
                    {
                        "provider_attempt_id": a.provider_attempt_id,
                        "status": a.status,
                        "created_at": _time(a.created_at),
                    }
                    for a in s.attempts.all()
                ],
                "provider_decisions": [
                    {
                        "status": d.status,
                        "provider_status": d.provider_status,
                        "code": d.code,
                        "reason": d.reason,
                        "reason_code": d.reason_code,
                        "reason_codes": d.reasons,
                        "person": d.person,
                        "document": d.document,
                        "decided_at": _time(d.decided_at),
                        "applied": d.applied,
                    }
                    for d in s.decisions.all()
                ],
            }
            for s in sessions
        ],
        "staff_decisions": [
            {
                "session_id": r.session_id,
                "outcome": r.outcome,
                "reason": r.reason.label,
                "note": r.note,
                "state": r.state,
                "is_override": r.is_override,
                "proposed_by": r.proposed_by.get_username(),
                "proposed_at": _time(r.proposed_at),
                "confirmed_by": r.confirmed_by.get_username() if r.confirmed_by else None,
                "rejected_by": r.rejected_by.get_username() if r.rejected_by else None,
                "rejection_note": r.rejection_note,
            }
            for r in reviews
        ],
        "comments": [
            {
                "session_id": c.session_id,
                "author": c.author.get_username(),
                "created_at": _time(c.created_at),
                "body": c.body,
            }
            for c in comments
        ],
    }


def _audit_csv(customer: Customer) -> str:
    events = list(AuditEvent.objects.filter(customer=customer).order_by("id"))
    users = usernames(events)
    return _csv_text(
        (
            "id",
            "created_at",
            "who",
            "what",
            "details",
            "action",
            "session_id",
            "before",
            "after",
            "prev_hash",
            "hash",
        ),
        (
            (
                e.pk,
                _time(e.created_at),
                actor_label(e),
                action_label(e.action),
                _cell(describe(e, users)),
                e.action,
                e.session_id or "",
                json.dumps(e.before, sort_keys=True) if e.before else "",
                json.dumps(e.after, sort_keys=True) if e.after else "",
                e.prev_hash,
                e.hash,
            )
            for e in events
        ),
    )
