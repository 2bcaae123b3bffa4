"""The poller's record of a batch on PostgreSQL, where it is one UPDATE over arrays
(kyc/services/polling.py, RECORD_ARRAYS_SQL) instead of the ORM's CASE that the unit tests run on
SQLite: the unit tests of what each answer writes to the schedule, run again here."""

import os

import pytest
from django.db import connection

from tests.kyc.test_polling import (  # noqa: F401  (collected here, on PostgreSQL)
    _scripted,
    test_a_decision_is_applied_and_ends_polling,
    test_a_fetch_that_could_not_start_in_time_is_left_to_the_next_claim,
    test_a_permanent_error_stops_polling_visibly,
    test_a_session_stopped_during_its_fetch_stays_stopped,
    test_a_transient_fault_backs_off_and_is_logged_once_not_at_every_poll,
    test_not_ready_is_polled_again_one_interval_after_the_fetch_was_answered_in_one_update,
    test_too_many_calls_waits_what_the_provider_asks_and_logs_nothing,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _only_this_poller(live_stack):
    """The live stack's poller (tests/support/servers.py) would claim these sessions too."""
    with live_stack.poller_paused():
        yield


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        if os.environ.get("CI") == "true":
            pytest.fail("needs PostgreSQL (DATABASE_URL)")
        pytest.skip("needs PostgreSQL: make test-integration IT_DATABASE_URL=postgres://…")


def test_the_record_is_the_arrays_update():
    # Those tests prove the arrays' path only if it is the one taken on PostgreSQL.
    from unittest import mock

    from kyc.services import polling

    with mock.patch.object(polling, "_record_arrays") as arrays:
        polling._record({}, lease_until=None)
    arrays.assert_called_once()
