"""A session's status has one writer, `session_transition` (kyc/services/transitions.py), and it
refuses what the transition table (kyc/status.py) does not allow."""

import ast
from pathlib import Path

import pytest

from kyc import status as st
from kyc.models import AuditEvent, VerificationSession
from kyc.services.transitions import TransitionRefused, session_transition
from tests.factories import SessionFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_an_allowed_transition_is_written_audited_and_stamped():
    session = SessionFactory(status=st.STARTED)
    session_transition(session, st.SUBMITTED, actor_label="test")
    session.refresh_from_db()
    assert session.status == st.SUBMITTED and session.submitted_at is not None
    entry = AuditEvent.objects.filter(action="session.status_changed").latest("id")
    assert (entry.before, entry.after) == ({"status": st.STARTED}, {"status": st.SUBMITTED})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("current", "new"),
    [
        (st.APPROVED, st.DECLINED),  # conclusive: never moves again
        (st.EXPIRED, st.STARTED),
        (st.STARTED, st.CREATED),  # nothing goes back to created
        (st.REVIEW, st.APPROVED),  # the staff's decision on a review is a Review, not a status
    ],
)
def test_an_illegal_transition_is_refused_and_nothing_is_written(current, new):
    session = SessionFactory(status=current)
    with pytest.raises(TransitionRefused):
        session_transition(session, new, actor_label="test")
    assert VerificationSession.objects.get(pk=session.pk).status == current
    assert not AuditEvent.objects.filter(action="session.status_changed").exists()


@pytest.mark.django_db
def test_a_correction_between_open_statuses_is_allowed():
    # A decision's events put right once the facts show the provider's order (kyc/status.py).
    session = SessionFactory(status=st.SUBMITTED)
    session_transition(session, st.STARTED, actor_label="test")
    assert VerificationSession.objects.get(pk=session.pk).status == st.STARTED


# Test data written in bulk on purpose, past the services (its docstring says why).
BYPASSES = {"kyc/management/commands/generate_scale_data.py"}
WRITES = {"create", "update", "update_or_create", "get_or_create", "bulk_create", "bulk_update"}


def _session_status_writes(path: Path) -> list[str]:
    """Where a module writes a session's status: `<session>.status = …`, `setattr(<session>,
    "status", …)`, or `status=` given to a VerificationSession's constructor or to a write of a
    session queryset (create, update…). A receiver is a session's when its source names one."""
    source = path.read_text()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "status":
                    receiver = ast.get_source_segment(source, target.value)
                    if "session" in receiver.lower():
                        found.append(f"{receiver}.status =")
        elif isinstance(node, ast.Call):
            func = ast.get_source_segment(source, node.func)
            if func == "setattr" and len(node.args) >= 2:
                receiver = ast.get_source_segment(source, node.args[0])
                name = node.args[1]
                literal = isinstance(name, ast.Constant)
                # A computed attribute name might be "status": found too, for a person to judge.
                if "session" in receiver.lower() and (not literal or name.value == "status"):
                    found.append(f"setattr({receiver}, {ast.get_source_segment(source, name)})")
            elif any(k.arg == "status" for k in node.keywords):
                name = func.rsplit(".", 1)[-1]
                if func == "VerificationSession" or (name in WRITES and "session" in func.lower()):
                    found.append(f"{func}(status=…)")
    return found


def _project_modules():
    for package in ("kyc", "api", "webhooks", "notifications", "config"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative and relative not in BYPASSES:
                yield relative, path


def test_no_module_but_session_transition_writes_a_session_status():
    writes = {relative: w for relative, path in _project_modules() if (w := _session_status_writes(path))}
    assert writes == {
        # The status, and the time stamp of the status reached (started_at, submitted_at).
        "kyc/services/transitions.py": ["session.status =", "setattr(session, _TIMESTAMP_FIELD[to_status])"]
    }


def test_the_scan_finds_the_ways_a_status_can_be_written(tmp_path):
    # The check above is only as good as this scan: each way of writing is found.
    probe = tmp_path / "probe.py"
    probe.write_text(
        "session.status = 'approved'\n"
        "setattr(self.session, 'status', 'approved')\n"
        "VerificationSession(status='approved')\n"
        "VerificationSession.objects.filter(pk=1).update(status='approved')\n"
        "customer.sessions.create(status='approved')\n"
        "attempt.status = 'approved'\n"  # an attempt's status is its own
    )
    assert _session_status_writes(probe) == [
        "session.status =",
        "setattr(self.session, 'status')",
        "VerificationSession(status=…)",
        "VerificationSession.objects.filter(pk=1).update(status=…)",
        "customer.sessions.create(status=…)",
    ]
