"""The waitlist: "tell me if Laura has an evening free", "any female therapist on Thursdays".

A watch is a member's search (the filters of the therapist search, and perhaps one therapist)
kept waiting until a time it matches is free: then the member is told once, with buttons to
book those times, and the watch is done. It lasts as far ahead as sessions can be booked
(BOOKING_HORIZON_DAYS), and a member keeps at most MAX_WAITING at once, so the dispatcher's scan
stays small and nobody is told about a search they have long forgotten.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from backend.domain.enums import WatchStatus

MAX_WAITING = 3
# Times offered in the message: enough to choose from, few enough to read.
TIMES_TOLD = 3
TOO_MANY = (f"You already have {MAX_WAITING} searches I'm watching for you. Stop one of them "
            "first, or book one of the times you can see now.")
NOT_WAITING = "That watch has ended already, so there is nothing to stop."


def expires_at(created_at: datetime, booking_horizon_days: int) -> datetime:
    return created_at + timedelta(days=booking_horizon_days)


def can_stop(status: WatchStatus) -> bool:
    return status is WatchStatus.WAITING
