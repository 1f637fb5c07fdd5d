"""The booking lifecycle as one transition table: booking state x event -> new state, and
what happens to the booking's voucher (the session it holds on a grant).

The services ask this table which states an event may start from and what it leads to; the
data layer enforces it with a guarded `UPDATE ... WHERE status IN (allowed states)`, so two
requests racing on one booking cannot both move it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from backend.domain.enums import BookingStatus, VoucherStatus
from backend.domain.errors import Conflict

REQUESTED, CONFIRMED = BookingStatus.REQUESTED, BookingStatus.CONFIRMED
DECLINED, COMPLETED, CANCELLED = (BookingStatus.DECLINED, BookingStatus.COMPLETED,
                                  BookingStatus.CANCELLED)
HELD, RELEASED, USED = VoucherStatus.HELD, VoucherStatus.RELEASED, VoucherStatus.USED


class Event(str, Enum):
    CONFIRM = "confirm"  # the therapist accepts the request
    DECLINE = "decline"  # the therapist turns it down
    COMPLETE = "complete"  # the therapist marks the session as having taken place
    CANCEL_IN_TIME = "cancel_in_time"  # the member cancels before the cancellation window
    CANCEL_LATE = "cancel_late"  # the member cancels inside the window
    CANCEL_BY_THERAPIST = "cancel_by_therapist"  # the member never loses the session
    RESCHEDULE = "reschedule"  # the booking is replaced by one at another time
    WAIVE = "waive"  # the therapist lets a late cancellation off


@dataclass(frozen=True)
class Outcome:
    status: BookingStatus
    # The voucher's new status, reached from `voucher_from` (a rescheduled booking's voucher
    # stays held and moves to the new booking).
    voucher: VoucherStatus
    voucher_from: VoucherStatus = HELD


TRANSITIONS: dict[tuple[BookingStatus, Event], Outcome] = {
    (REQUESTED, Event.CONFIRM): Outcome(CONFIRMED, HELD),
    (REQUESTED, Event.DECLINE): Outcome(DECLINED, RELEASED),
    (CONFIRMED, Event.COMPLETE): Outcome(COMPLETED, USED),
    (REQUESTED, Event.CANCEL_IN_TIME): Outcome(CANCELLED, RELEASED),
    (CONFIRMED, Event.CANCEL_IN_TIME): Outcome(CANCELLED, RELEASED),
    (REQUESTED, Event.CANCEL_LATE): Outcome(CANCELLED, USED),
    (CONFIRMED, Event.CANCEL_LATE): Outcome(CANCELLED, USED),
    (REQUESTED, Event.CANCEL_BY_THERAPIST): Outcome(CANCELLED, RELEASED),
    (CONFIRMED, Event.CANCEL_BY_THERAPIST): Outcome(CANCELLED, RELEASED),
    (REQUESTED, Event.RESCHEDULE): Outcome(CANCELLED, HELD),
    (CONFIRMED, Event.RESCHEDULE): Outcome(CANCELLED, HELD),
    (CANCELLED, Event.WAIVE): Outcome(CANCELLED, RELEASED, voucher_from=USED),
}

# How a refusal names the event: "This booking has been cancelled, so it can't be <verb>."
VERBS = {
    Event.CONFIRM: "confirmed",
    Event.DECLINE: "declined",
    Event.COMPLETE: "marked as completed",
    Event.CANCEL_IN_TIME: "cancelled",
    Event.CANCEL_LATE: "cancelled",
    Event.CANCEL_BY_THERAPIST: "cancelled",
    Event.RESCHEDULE: "rescheduled",
}
STATE_PHRASES = {
    REQUESTED: "is still waiting for the therapist to confirm it",
    CONFIRMED: "has already been confirmed",
    DECLINED: "was declined by the therapist",
    COMPLETED: "has already taken place",
    CANCELLED: "has been cancelled",
}
NOTHING_TO_WAIVE = "There is no late cancellation to waive on this booking."


def allowed_from(event: Event) -> tuple[BookingStatus, ...]:
    """The states `event` may start from, in the enum's order (for the guarded UPDATE)."""
    return tuple(state for state in BookingStatus if (state, event) in TRANSITIONS)


def outcome(event: Event) -> Outcome:
    """Where `event` leads; every event has one outcome whatever state it starts from."""
    outcomes = {TRANSITIONS[state, event] for state in allowed_from(event)}
    (only,) = outcomes
    return only


def refusal(status: BookingStatus, event: Event) -> Conflict:
    """Why a booking in `status` cannot take `event`, in words for the person."""
    if event is Event.WAIVE:
        return Conflict(NOTHING_TO_WAIVE)
    return Conflict(f"This booking {STATE_PHRASES[status]}, so it can't be {VERBS[event]}.",
                    code="invalid_transition")


def check(status: BookingStatus, event: Event) -> Outcome:
    """The outcome of `event` on a booking in `status`, or the refusal."""
    try:
        return TRANSITIONS[status, event]
    except KeyError:
        raise refusal(status, event) from None


def timing_problem(event: Event, starts_at: datetime, now: datetime) -> str | None:
    """A therapist confirms only sessions still ahead, and completes only sessions begun."""
    if event is Event.CONFIRM and starts_at <= now:
        return "This session's time has already passed, so it can't be confirmed."
    if event is Event.COMPLETE and starts_at > now:
        return "A session can be marked as completed once it has started."
    return None
