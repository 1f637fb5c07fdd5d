"""Every row of the booking lifecycle table, and the refusals of every other pair."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from backend.domain import booking
from backend.domain.booking import Event, Outcome
from backend.domain.enums import BookingStatus as S
from backend.domain.enums import VoucherStatus as V
from backend.domain.errors import Conflict

EXPECTED = {
    (S.REQUESTED, Event.CONFIRM): (S.CONFIRMED, V.HELD, V.HELD),
    (S.REQUESTED, Event.DECLINE): (S.DECLINED, V.RELEASED, V.HELD),
    (S.CONFIRMED, Event.COMPLETE): (S.COMPLETED, V.USED, V.HELD),
    (S.REQUESTED, Event.CANCEL_IN_TIME): (S.CANCELLED, V.RELEASED, V.HELD),
    (S.CONFIRMED, Event.CANCEL_IN_TIME): (S.CANCELLED, V.RELEASED, V.HELD),
    (S.REQUESTED, Event.CANCEL_LATE): (S.CANCELLED, V.USED, V.HELD),
    (S.CONFIRMED, Event.CANCEL_LATE): (S.CANCELLED, V.USED, V.HELD),
    (S.REQUESTED, Event.CANCEL_BY_THERAPIST): (S.CANCELLED, V.RELEASED, V.HELD),
    (S.CONFIRMED, Event.CANCEL_BY_THERAPIST): (S.CANCELLED, V.RELEASED, V.HELD),
    (S.REQUESTED, Event.RESCHEDULE): (S.CANCELLED, V.HELD, V.HELD),
    (S.CONFIRMED, Event.RESCHEDULE): (S.CANCELLED, V.HELD, V.HELD),
    (S.CANCELLED, Event.WAIVE): (S.CANCELLED, V.RELEASED, V.USED),
}


@pytest.mark.parametrize(("state", "event"), list(EXPECTED), ids=lambda x: x.value)
def test_every_row_of_the_table(state, event):
    status, voucher, voucher_from = EXPECTED[state, event]
    assert booking.check(state, event) == Outcome(status, voucher, voucher_from=voucher_from)


def test_the_table_has_no_other_rows():
    assert set(booking.TRANSITIONS) == set(EXPECTED)


REFUSED = [(state, event) for state in S for event in Event if (state, event) not in EXPECTED]


@pytest.mark.parametrize(("state", "event"), REFUSED, ids=lambda x: x.value)
def test_every_other_pair_is_refused_in_words(state, event):
    with pytest.raises(Conflict) as refused:
        booking.check(state, event)
    if event is Event.WAIVE:
        assert refused.value.message == "There is no late cancellation to waive on this booking."
    else:
        assert refused.value.code == "invalid_transition"
        assert refused.value.message == (f"This booking {booking.STATE_PHRASES[state]}, so it "
                                         f"can't be {booking.VERBS[event]}.")


def test_refusal_wording():
    assert booking.refusal(S.DECLINED, Event.CONFIRM).message == (
        "This booking was declined by the therapist, so it can't be confirmed.")
    assert booking.refusal(S.COMPLETED, Event.CANCEL_LATE).message == (
        "This booking has already taken place, so it can't be cancelled.")
    assert booking.refusal(S.REQUESTED, Event.COMPLETE).message == (
        "This booking is still waiting for the therapist to confirm it, so it can't be marked "
        "as completed.")


def test_allowed_from_and_one_outcome_per_event():
    assert booking.allowed_from(Event.CONFIRM) == (S.REQUESTED,)
    assert booking.allowed_from(Event.COMPLETE) == (S.CONFIRMED,)
    assert booking.allowed_from(Event.RESCHEDULE) == (S.REQUESTED, S.CONFIRMED)
    assert booking.allowed_from(Event.WAIVE) == (S.CANCELLED,)
    for event in Event:
        assert booking.outcome(event) == booking.TRANSITIONS[booking.allowed_from(event)[0], event]


def test_timing_of_confirm_and_complete():
    now = datetime(2026, 3, 3, 12, tzinfo=timezone.utc)
    ahead, behind = now + timedelta(minutes=1), now - timedelta(minutes=1)
    assert booking.timing_problem(Event.CONFIRM, ahead, now) is None
    assert "already passed" in booking.timing_problem(Event.CONFIRM, now, now)
    assert booking.timing_problem(Event.COMPLETE, now, now) is None
    assert booking.timing_problem(Event.COMPLETE, behind, now) is None
    assert "once it has started" in booking.timing_problem(Event.COMPLETE, ahead, now)
    assert booking.timing_problem(Event.DECLINE, behind, now) is None
