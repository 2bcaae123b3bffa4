"""Reads for the staff back-office: the review queue and the case page. Both run a fixed number of
queries whatever the number of cases, sessions, media or audit entries (tests/kyc/test_queries.py).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from kyc import status as st
from kyc.casework.audit_text import action_label, actor_label, describe, usernames
from kyc.casework.duplicates import Duplicate, case_duplicates
from kyc.models import (
    AuditEvent,
    Case,
    CaseComment,
    Customer,
    Media,
    ProviderDecision,
    Review,
    RiskFlag,
    ScreeningResult,
    VerificationSession,
)
from kyc.reviews.policy import case_opening_statuses
from providers import registry

# How many audit entries the case page shows; the audit log has them all.
CASE_AUDIT_LIMIT = 200


def _latest_applied_decision():
    return ProviderDecision.objects.filter(session=OuterRef("pk"), applied=True).order_by(
        "-decided_at", "-received_at", "-id"
    )


def cases_annotated(queryset: QuerySet | None = None) -> QuerySet:
    """Sessions with what the queue shows of each, computed in the one query."""
    queryset = Case.objects.all() if queryset is None else queryset
    latest = _latest_applied_decision()
    return queryset.select_related("customer", "assignee").annotate(
        # The customer's case: a proposal may wait on an earlier session of theirs.
        awaiting_confirmation=Exists(
            Review.objects.filter(customer=OuterRef("customer"), state=Review.State.AWAITING_CONFIRMATION)
        ),
        has_effective_review=Exists(
            Review.objects.filter(session=OuterRef("pk"), state=Review.State.EFFECTIVE)
        ),
        # The SLA clock starts when the provider's result arrived (kyc.reviews.queue_state).
        queued_since=Coalesce("queued_at", "decided_at", "status_changed_at", "created_at"),
        reason_code=Subquery(latest.values("reason_code")[:1]),
        decision_code=Subquery(latest.values("code")[:1]),
        # Why an approval may be held (kyc.reviews.risk): risk flags, unsettled screening hits.
        risk_flagged=Exists(RiskFlag.objects.filter(session=OuterRef("pk"))),
        screening_open=Exists(
            ScreeningResult.objects.filter(
                customer=OuterRef("customer"),
                state__in=[ScreeningResult.State.POSSIBLE_MATCH, ScreeningResult.State.AWAITING_CONFIRMATION],
            )
        ),
    )


def review_queue() -> QuerySet:
    """The cases that need a human, oldest first (the rule: kyc.reviews.queue_state). An index
    scan of the sessions whose `queued_at` is set, whatever the size of the table."""
    return cases_annotated().filter(queued_at__isnull=False).order_by("queued_at", "pk")


def queue_counts() -> dict[str, int]:
    """For the header badge and the dashboard: one query."""
    from django.db.models import Count

    return review_queue().aggregate(
        total=Count("pk"),
        awaiting=Count("pk", filter=Q(awaiting_confirmation=True)),
        unassigned=Count("pk", filter=Q(assignee__isnull=True)),
    )


# --- the case page ------------------------------------------------------------------------------
@dataclass
class Comparison:
    label: str
    given: Any
    verified: Any
    mismatch: bool = False
    note: str = ""


@dataclass
class TimelineEntry:
    at: dt.datetime
    kind: str  # session | attempt | decision | review | audit
    title: str
    detail: str = ""
    actor: str = ""
    session_id: int | None = None
    tone: str = ""  # good | bad | warn | ""
    # Breaks ties of `at` (a service stamps the steps of one change with the same time): the
    # step's place in the case's life, then the row's id, which grows in the order of writing.
    seq: tuple[int, int] = (0, 0)


@dataclass
class AttemptMedia:
    label: str
    documents: list[Media] = field(default_factory=list)  # front, back
    faces: list[Media] = field(default_factory=list)
    videos: list[Media] = field(default_factory=list)
    other: list[Media] = field(default_factory=list)


@dataclass
class EarlierResult:
    """A decline or provider `review` on an earlier session of the customer, shown on the case page
    beside the session decided now: the case page must not hide what the customer restarted from."""

    session: VerificationSession
    decision: ProviderDecision | None
    explained: list[str]
    open: bool  # no person has closed it yet: it keeps the customer's case open


@dataclass
class CaseDetail:
    session: VerificationSession
    customer: Customer
    sessions: list[VerificationSession]
    decision: ProviderDecision | None
    reviews: list[Review]
    awaiting: Review | None
    effective: Review | None
    comparison: list[Comparison]
    gallery: list[AttemptMedia]
    media: list[Media]
    timeline: list[TimelineEntry]
    audit_truncated: bool
    in_queue: bool
    is_latest: bool
    # Risk signals on this session's decisions, and the customer's screening hits (issue 12).
    risk_flags: list[RiskFlag] = field(default_factory=list)
    screening: list[ScreeningResult] = field(default_factory=list)
    # Case work (kyc/casework/): the comment thread, other customers with the same document or
    # face, and the latest document photo beside the latest selfie.
    comments: list[CaseComment] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    side_by_side: tuple[Media, Media] | None = None
    earlier: list[EarlierResult] = field(default_factory=list)
    # The proposal of the customer's case waiting for a second person, on whichever session.
    case_awaiting: Review | None = None
    # A verdict the provider says is not final yet (Solaris's pending_successful / pending_failed:
    # its own review still open), shown as provisional while no decision stands.
    provisional: ProviderDecision | None = None

    @property
    def open_earlier(self) -> list[VerificationSession]:
        return [e.session for e in self.earlier if e.open]


def case_detail(session_id: int) -> CaseDetail:
    """Everything the case page shows, in a constant number of queries."""
    session = VerificationSession.objects.select_related("customer", "assignee", "created_by").get(
        pk=session_id
    )
    customer = session.customer
    sessions = list(
        customer.sessions.order_by("-created_at", "-id")
        .select_related("created_by", "assignee")
        .prefetch_related(
            "attempts",
            Prefetch(
                "decisions", queryset=ProviderDecision.objects.order_by("-decided_at", "-received_at", "-id")
            ),
            Prefetch("media", queryset=Media.objects.select_related("attempt").order_by("created_at", "id")),
        )
    )
    this = next(s for s in sessions if s.pk == session.pk)
    reviews = list(
        Review.objects.filter(customer=customer)
        .select_related("reason", "proposed_by", "confirmed_by", "rejected_by", "withdrawn_by")
        .order_by("-proposed_at", "-id")
    )
    session_reviews = [r for r in reviews if r.session_id == session.pk]
    audit = list(
        AuditEvent.objects.filter(customer=customer).order_by("-created_at", "-id")[: CASE_AUDIT_LIMIT + 1]
    )
    decision = next((d for d in this.decisions.all() if d.applied), None)
    provisional = None
    if decision is None and session.status == st.SUBMITTED:
        provisional = next((d for d in this.decisions.all() if is_provisional(d)), None)
    awaiting = [r for r in reviews if r.state == Review.State.AWAITING_CONFIRMATION]
    return CaseDetail(
        session=session,
        customer=customer,
        sessions=sessions,
        decision=decision,
        reviews=session_reviews,
        awaiting=next((r for r in session_reviews if r.state == Review.State.AWAITING_CONFIRMATION), None),
        effective=next((r for r in session_reviews if r.state == Review.State.EFFECTIVE), None),
        comparison=compare(customer, decision),
        gallery=gallery(this),
        media=list(this.media.all()),
        timeline=timeline(sessions, reviews, audit[:CASE_AUDIT_LIMIT]),
        audit_truncated=len(audit) > CASE_AUDIT_LIMIT,
        provisional=provisional,
        in_queue=session.queued_at is not None,
        is_latest=sessions[0].pk == session.pk,
        risk_flags=_with_matched_cases(
            session, RiskFlag.objects.filter(session=session).select_related("decision")
        ),
        screening=screening_for_review(
            ScreeningResult.objects.filter(customer=customer).select_related("proposed_by", "resolved_by")
        ),
        comments=list(
            CaseComment.objects.filter(customer=customer)
            .select_related("author")
            .order_by("created_at", "id")
        ),
        duplicates=case_duplicates(sessions),
        side_by_side=side_by_side(this),
        earlier=earlier_results(this, sessions, reviews),
        case_awaiting=awaiting[0] if awaiting else None,
    )


def _with_matched_cases(session: VerificationSession, flags) -> list[RiskFlag]:
    """The flags, each "matched session" one with `matched_case` set when that other session is
    one of ours (the reviewer then sees whose face it was): one query, only when there are any."""
    flags = list(flags)
    matched = [f for f in flags if f.kind == RiskFlag.Kind.MATCHED_SESSION and f.detail]
    if matched:
        ours = VerificationSession.objects.filter(
            provider=session.provider, provider_session_id__in=[f.detail for f in matched]
        ).select_related("customer")
        by_id = {s.provider_session_id: s for s in ours}
        for flag in matched:
            flag.matched_case = by_id.get(flag.detail)
    return flags


# Hits still to settle first, then the rest; within each, the most severe list first.
_HIT_STATE_ORDER = ["awaiting_confirmation", "possible_match", "true_match", "false_positive"]
_HIT_LIST_ORDER = ["sanctions", "pep", "warning", "adverse_media", "other"]


def screening_for_review(results) -> list[ScreeningResult]:
    def order(hit: ScreeningResult):
        state = _HIT_STATE_ORDER.index(hit.state) if hit.state in _HIT_STATE_ORDER else len(_HIT_STATE_ORDER)
        kind = (
            _HIT_LIST_ORDER.index(hit.list_type) if hit.list_type in _HIT_LIST_ORDER else len(_HIT_LIST_ORDER)
        )
        return state, kind, -hit.received_at.timestamp(), -hit.pk

    return sorted(results, key=order)


def side_by_side(session: VerificationSession) -> tuple[Media, Media] | None:
    """The latest attempt's document photo (front) and selfie, for the large side-by-side view;
    None unless both are stored pictures."""
    groups = [g for g in gallery(session) if g.documents and g.faces]
    for group in reversed(groups):
        document = next((m for m in group.documents if _is_stored_picture(m)), None)
        face = next((m for m in group.faces if _is_stored_picture(m)), None)
        if document and face:
            return document, face
    return None


def _is_stored_picture(media: Media) -> bool:
    return media.state == Media.State.STORED and media.shown_type.startswith("image/")


def earlier_results(this: VerificationSession, sessions, reviews: list[Review]) -> list[EarlierResult]:
    """The declines and provider reviews of the customer's sessions before `this`, newest first;
    open while no staff decision in effect on that session or a later one closed it (the rule of
    kyc.reviews.queue_state, read from what the page has loaded)."""
    opening = case_opening_statuses()
    created = {s.pk: s.created_at for s in sessions}
    closed_at = [created[r.session_id] for r in reviews if r.state == Review.State.EFFECTIVE]
    results = []
    for s in sessions:
        if (s.created_at, s.pk) >= (this.created_at, this.pk) or s.status not in opening:
            continue
        decision = next((d for d in s.decisions.all() if d.applied), None)
        explained = [line for line in (explain_decision(decision, s.provider) if decision else ()) if line]
        is_open = not any(at >= s.created_at for at in closed_at)
        results.append(EarlierResult(s, decision, explained, is_open))
    return results


def _normalized_name(value: Any) -> str:
    """Names compared as a person would: case, accents, hyphens and spacing do not count."""
    text = unicodedata.normalize("NFKD", str(value or ""))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(text.replace("-", " ").split())


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def compare(customer: Customer, decision: ProviderDecision | None) -> list[Comparison]:
    """What the customer gave us beside what the provider read from the document."""
    person = (decision.person if decision else None) or {}
    document = (decision.document if decision else None) or {}
    rows = []
    for label, given, verified in (
        ("First name", customer.first_name, person.get("firstName")),
        ("Last name", customer.last_name, person.get("lastName")),
    ):
        mismatch = bool(given and verified) and _normalized_name(given) != _normalized_name(verified)
        rows.append(Comparison(label, given, verified, mismatch))
    dob_given, dob_verified = customer.date_of_birth, _date(person.get("dateOfBirth"))
    rows.append(
        Comparison(
            "Date of birth",
            dob_given,
            dob_verified,
            bool(dob_given and dob_verified) and dob_given != dob_verified,
        )
    )
    rows.append(
        Comparison(
            "Country",
            customer.country,
            document.get("country") or person.get("nationality"),
            note="issuing country of the document" if document.get("country") else "",
        )
    )
    rows.append(
        Comparison("Document", "", " ".join(str(document.get(k) or "") for k in ("type", "number")).strip())
    )
    valid_until = _date(document.get("validUntil"))
    decided = decision.decided_at.date() if decision and decision.decided_at else timezone.now().date()
    expired = valid_until is not None and valid_until < decided
    rows.append(
        Comparison(
            "Document valid until",
            "",
            valid_until,
            expired,
            note="expired when the provider decided" if expired else "",
        )
    )
    if valid_until and not expired and valid_until < timezone.now().date():
        rows[-1].note = "expired since the decision"
    return rows


_FRONT_BACK = {"document-front": 0, "document-back": 1}


def gallery(session: VerificationSession) -> list[AttemptMedia]:
    """The session's media by attempt: document front and back beside the face, then videos."""
    attempts = list(session.attempts.all())
    groups: dict[int | None, AttemptMedia] = {
        a.pk: AttemptMedia(label=f"Attempt {n} ({a.get_status_display().lower()})")
        for n, a in enumerate(attempts, 1)
    }
    for media in session.media.all():
        group = groups.setdefault(media.attempt_id, AttemptMedia(label="Session media"))
        if media.kind == "video" or media.mime_type.startswith("video/"):
            group.videos.append(media)
        elif media.context in _FRONT_BACK:
            group.documents.append(media)
        elif "face" in media.context:
            group.faces.append(media)
        else:
            group.other.append(media)
    for group in groups.values():
        group.documents.sort(key=lambda m: _FRONT_BACK[m.context])
    return [g for g in groups.values() if g.documents or g.faces or g.videos or g.other]


def is_provisional(decision: ProviderDecision) -> bool:
    """A provider's verdict that it says is not final (normalized to `submitted`, never a decision
    status): recorded, applied by no one, replaced by the final decision when it comes."""
    return decision.status == st.SUBMITTED and not decision.applied


def explain_decision(decision: ProviderDecision, provider: str) -> tuple[str, str]:
    code = f"{decision.code} — {registry.explain_code(provider, decision.code)}" if decision.code else ""
    reason = "; ".join(
        f"{each} — {registry.explain_reason(provider, each) or 'unknown code'}" for each in decision.reasons
    )
    if reason:
        # Every reason the provider gave (ShareID gives a list), the deciding one marked when
        # there are several: it is the one the status and the filters go by.
        if len(decision.reasons) > 1 and decision.reason_code:
            reason = f"reasons {reason} (deciding: {decision.reason_code})"
        else:
            reason = f"reason {reason}"
    if decision.reason and decision.reason.rstrip(".") not in reason:
        reason = (
            f"{reason}; provider says: “{decision.reason}”"
            if reason
            else f"provider says: “{decision.reason}”"
        )
    return code, reason


_TONE = {"approved": "good", "declined": "bad", "resubmission_requested": "warn", "review": "warn"}
_OUTCOME_TONE = {"approve": "good", "decline": "bad", "request_resubmission": "warn"}


def timeline(sessions, reviews: list[Review], audit: list[AuditEvent]) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    for s in sessions:
        ref = f"session {str(s.reference)[:8]}"
        entries.append(
            TimelineEntry(
                s.created_at,
                "session",
                f"Verification started ({ref}, {s.provider})",
                actor=s.created_by.get_username() if s.created_by_id and s.created_by else "",
                session_id=s.pk,
                seq=(0, s.pk),
            )
        )
        if s.submitted_at:
            entries.append(
                TimelineEntry(
                    s.submitted_at,
                    "session",
                    f"Submitted to the provider ({ref})",
                    session_id=s.pk,
                    seq=(1, s.pk),
                )
            )
        for n, attempt in enumerate(s.attempts.all(), 1):
            entries.append(
                TimelineEntry(
                    attempt.created_at,
                    "attempt",
                    f"Attempt {n} started ({ref})",
                    detail=f"now {attempt.get_status_display().lower()}",
                    session_id=s.pk,
                    seq=(2, attempt.pk),
                )
            )
        for d in s.decisions.all():
            code, reason = explain_decision(d, s.provider)
            if d.applied:
                state = ""
            elif is_provisional(d):
                state = " (provisional: the provider's own review was still open)"
            else:
                state = " (not applied: late or superseded)"
            title = f"Provider decision: {d.get_status_display()}{state}"
            entries.append(
                TimelineEntry(
                    d.decided_at or d.received_at,
                    "decision",
                    title,
                    detail="; ".join(x for x in (code, reason) if x),
                    actor=f"provider:{s.provider}",
                    session_id=s.pk,
                    tone=_TONE.get(d.status, ""),
                    seq=(3, d.pk),
                )
            )
    for r in reviews:
        verb = (
            "Override proposed" if r.is_override else "Approval proposed" if r.four_eyes else "Staff decision"
        )
        entries.append(
            TimelineEntry(
                r.proposed_at,
                "review",
                f"{verb}: {r.get_outcome_display()} — {r.reason.label}",
                detail=r.note,
                actor=r.proposed_by.get_username(),
                session_id=r.session_id,
                tone=_OUTCOME_TONE.get(r.outcome, ""),
                seq=(4, r.pk),
            )
        )
        if r.confirmed_at:
            entries.append(
                TimelineEntry(
                    r.confirmed_at,
                    "review",
                    f"{'Override' if r.is_override else 'Approval'} confirmed: {r.get_outcome_display()}",
                    detail=r.confirmation_note,
                    actor=r.confirmed_by.get_username(),
                    session_id=r.session_id,
                    tone="good",
                    seq=(5, r.pk),
                )
            )
        if r.withdrawn_at:
            entries.append(
                TimelineEntry(
                    r.withdrawn_at,
                    "review",
                    f"Proposal withdrawn: {r.get_outcome_display()}",
                    actor=r.withdrawn_by.get_username(),
                    session_id=r.session_id,
                )
            )
        if r.rejected_at:
            entries.append(
                TimelineEntry(
                    r.rejected_at,
                    "review",
                    f"{'Override' if r.is_override else 'Approval'} rejected: {r.get_outcome_display()}",
                    detail=r.rejection_note,
                    actor=r.rejected_by.get_username(),
                    session_id=r.session_id,
                    tone="bad",
                    seq=(5, r.pk),
                )
            )
    users = usernames(audit)  # names for the ids in the entries: one query for all of them
    for e in audit:
        entries.append(
            TimelineEntry(
                e.created_at,
                "audit",
                action_label(e.action),
                detail=describe(e, users),
                actor=actor_label(e),
                session_id=e.session_id,
                seq=(6, e.pk),  # the record of a change comes after the change
            )
        )
    # Newest first: by time, then by sequence (the time alone leaves ties in the order built here).
    entries.sort(key=lambda e: (e.at, e.seq), reverse=True)
    return entries
