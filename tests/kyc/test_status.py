"""The status machine's table (kyc/status.py)."""

import pytest

from kyc import status as st
from providers.base import STATUSES


def test_every_status_has_a_row_and_every_target_is_a_status():
    assert set(st.TRANSITIONS) == set(STATUSES)
    assert all(targets <= set(STATUSES) for targets in st.TRANSITIONS.values())


@pytest.mark.parametrize("conclusive", sorted(st.CONCLUSIVE))
def test_conclusive_statuses_never_move(conclusive):
    assert not any(st.can_transition(conclusive, new) for new in STATUSES)


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        ("created", "started", True),
        ("started", "submitted", True),
        ("submitted", "started", False),  # a late 7001 after 7002
        ("submitted", "approved", True),
        ("created", "approved", True),  # a decision that overtook its events
        ("resubmission_requested", "started", True),  # a new attempt on the same URL
        ("resubmission_requested", "resubmission_requested", True),  # attempt 2 resubmitted too
        ("started", "created", False),
    ],
)
def test_transitions(current, new, allowed):
    assert st.can_transition(current, new) is allowed
