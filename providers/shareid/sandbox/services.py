"""Every state change of onboardings and authenticate flows: their start, the single-use SDK token,
the end user's last step (or a script's), and the callback that follows.

A result is decided once: the row is locked while it is, so that the SDK page and a control call
(or a double click) cannot both finish it. The callback is recorded in the same transaction and
scheduled after it commits.
"""

import datetime as dt
import hmac
import logging
import secrets
import threading
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from . import callbacks, results
from .models import Applicant, Capture, Flow, SdkToken
from .tasks import send_callback

logger = logging.getLogger(__name__)

# ShareID accepts session_duration from 300 to 3600 seconds; 600 when it is not given.
SESSION_DURATION_RANGE = (300, 3600)
SESSION_DURATION_DEFAULT = 600


class AlreadyCompleted(Exception):
    """The onboarding or flow has its result already."""


class SdkRefused(Exception):
    """The SDK page cannot go on: `why` is unknown, used, expired or finished."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def scaled(seconds: float) -> dt.timedelta:
    return dt.timedelta(seconds=seconds * settings.SIM_TIME_SCALE)


def analysis_delay() -> dt.timedelta:
    return scaled(settings.SHAREID_SANDBOX_ANALYSIS_SECONDS)


# --- starts ------------------------------------------------------------------------------------


@transaction.atomic
def applicant_create(
    *,
    customer_data: dict[str, Any],
    methods: list[str],
    callback: str,
    callback_with_document_capture: bool,
    advanced_verification: bool,
    session_duration: int,
) -> tuple[Applicant, SdkToken]:
    applicant = Applicant.objects.create(
        customer_data=customer_data,
        methods=methods,
        callback=callback,
        callback_with_document_capture=callback_with_document_capture,
        advanced_verification=advanced_verification,
        session_duration=session_duration,
    )
    token = SdkToken.objects.create(
        applicant=applicant, expires_at=applicant.created_at + scaled(session_duration)
    )
    return applicant, token


@transaction.atomic
def flow_create(*, applicant: Applicant, callback: str) -> tuple[Flow, SdkToken]:
    flow = Flow.objects.create(applicant=applicant, callback=callback)
    token = SdkToken.objects.create(
        applicant=applicant, flow=flow, expires_at=flow.created_at + scaled(SESSION_DURATION_DEFAULT)
    )
    return flow, token


# --- the SDK page ------------------------------------------------------------------------------


def sdk_token_open(*, token: str) -> SdkToken:
    """The page's first GET spends the token and gets the key that lets it finish. Raises SdkRefused."""
    now = timezone.now()
    page_key = secrets.token_urlsafe(24)
    # A conditional update spends it: of two GETs racing with one token, one opens the page.
    spent = SdkToken.objects.filter(token=token, used_at=None, expires_at__gt=now).update(
        used_at=now, page_key=page_key
    )
    found = SdkToken.objects.select_related("applicant", "flow").filter(token=token).first()
    if found is None:
        raise SdkRefused("unknown")
    if not spent:
        raise SdkRefused("used" if found.used_at else "expired")
    return found


def sdk_finish(
    *, token: str, page_key: str, outcome: str, reasons: list[str], ocr: dict[str, str], doc_type: str
) -> SdkToken:
    """The end user's last step on the page: `approve` (no reasons), `reject` (the reasons picked)
    or `leave` (no result: the fetch keeps answering "not ready"). Raises SdkRefused."""
    now = timezone.now()
    with transaction.atomic():
        # Locked: a double click (two POSTs of one page) must finish it once.
        found = SdkToken.objects.select_for_update().filter(token=token).first()
        if found is None or found.used_at is None or not hmac.compare_digest(found.page_key, page_key):
            raise SdkRefused("unknown")
        if found.finished_at is not None:
            raise SdkRefused("finished")
        if found.expires_at <= now:
            raise SdkRefused("expired")
        found.finished_at = now
        found.save(update_fields=["finished_at"])
        try:
            if outcome == "leave":
                target = Flow.objects.filter(id=found.flow_id) if found.flow_id else None
                (target or Applicant.objects.filter(id=found.applicant_id)).update(left_at=now)
            elif found.flow_id:
                flow_complete(flow_id=found.flow_id, reasons=reasons if outcome == "reject" else [])
            else:
                applicant_complete(
                    applicant_id=found.applicant_id,
                    reasons=reasons if outcome == "reject" else [],
                    ocr=ocr,
                    doc_type=doc_type,
                )
        except AlreadyCompleted:
            raise SdkRefused("finished") from None
    return found


# --- results -----------------------------------------------------------------------------------


def applicant_complete(
    *,
    applicant_id: str,
    reasons: list[str],
    ocr: dict[str, str] | None = None,
    doc_type: str = "id_card",
    delay: float | None = None,
) -> Applicant:
    """The onboarding's result, ready for the fetch after the analysis delay (`delay`: seconds,
    as given, instead). Raises Applicant.DoesNotExist, AlreadyCompleted."""
    document = results.document_with(applicant_id, ocr=ocr or {}, doc_type=doc_type)
    # Drawn before the lock is taken: a few milliseconds nobody need wait for.
    probe = Applicant(id=applicant_id, document=document)
    captures = results.captures_make(probe)
    wait = analysis_delay() if delay is None else dt.timedelta(seconds=delay)
    with transaction.atomic():
        # Locked: the SDK page and a control call finishing one onboarding at once complete it once.
        applicant = Applicant.objects.select_for_update().get(id=applicant_id)
        if applicant.completed_at is not None:
            raise AlreadyCompleted(applicant_id)
        now = timezone.now()
        applicant.completed_at = now
        applicant.ready_at = now + wait
        applicant.reasons = list(reasons)
        applicant.document = document
        applicant.save()
        for capture in captures:
            capture.applicant = applicant
        Capture.objects.bulk_create(captures)
        if applicant.callback:
            _callback_on_commit(
                applicant=applicant, flow=None, url=applicant.callback, due=applicant.ready_at
            )
    return applicant


def flow_complete(*, flow_id: Any, reasons: list[str], delay: float | None = None) -> Flow:
    """The authenticate flow's result. Raises Flow.DoesNotExist, AlreadyCompleted."""
    wait = analysis_delay() if delay is None else dt.timedelta(seconds=delay)
    with transaction.atomic():
        # Locked: as for an onboarding, one result per flow whoever finishes it.
        flow = Flow.objects.select_for_update().get(id=flow_id)
        if flow.completed_at is not None:
            raise AlreadyCompleted(str(flow_id))
        now = timezone.now()
        flow.completed_at = now
        flow.ready_at = now + wait
        flow.reasons = list(reasons)
        flow.save()
        if flow.callback:
            _callback_on_commit(applicant=flow.applicant, flow=flow, url=flow.callback, due=flow.ready_at)
    return flow


def _callback_on_commit(*, applicant: Applicant, flow: Flow | None, url: str, due: dt.datetime) -> None:
    callback = callbacks.callback_record(applicant=applicant, flow=flow, url=url, due=due)
    transaction.on_commit(
        lambda: callback_schedule(callback.id, delay=(due - timezone.now()).total_seconds())
    )


def callback_schedule(callback_id: int, *, delay: float) -> None:
    """Send the callback `delay` seconds from now. With a broker: a Celery task with a countdown,
    which retries itself. Without one (development, tasks in-process) nothing else wakes at the
    result's time: at once when it is ready now, else from a daemon timer thread. A timer dies with
    its process, which is acceptable here: the callback is only a hint (the app's polling decides),
    and control/callbacks/send-due sends whatever is due and unsent."""
    if not send_callback.app.conf.task_always_eager:
        send_callback.apply_async((callback_id,), countdown=max(0.0, delay))
    elif delay <= 0:
        send_callback.delay(callback_id)
    else:
        timer = threading.Timer(delay, _send_from_timer, args=(callback_id,))
        timer.daemon = True
        timer.start()


def _send_from_timer(callback_id: int) -> None:
    try:
        callbacks.callback_send(callback_id)
    except Exception:
        logger.exception("shareid sandbox: callback %s not sent from its timer", callback_id)
    finally:
        # A thread of our own: nobody else closes its database connections.
        connections.close_all()
