"""The cancellation policy: cancel before the window and the session goes back to the grant;
inside it the session counts as used (and is charged) unless the therapist waives it, and it
can no longer be moved. The wording is what the bot shows before the member confirms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from backend.domain.errors import Conflict, InvalidInput

# The cancellation windows an organisation may choose: from an hour to a week before a session.
MIN_WINDOW_HOURS = 1
MAX_WINDOW_HOURS = 168


@dataclass(frozen=True)
class Terms:
    window_hours: int
    deadline: datetime  # last moment to cancel (or reschedule) outside the window
    late: bool  # inside the window
    paid_by_organisation: bool

    @property
    def session_returned(self) -> bool:
        return self.paid_by_organisation and not self.late

    @property
    def can_reschedule(self) -> bool:
        return not self.late


def checked_window(hours: int) -> int:
    """An organisation's own cancellation window, or InvalidInput saying which are allowed."""
    if not MIN_WINDOW_HOURS <= hours <= MAX_WINDOW_HOURS:
        raise InvalidInput(f"The cancellation window must be between {MIN_WINDOW_HOURS} and "
                           f"{MAX_WINDOW_HOURS} hours (a week) before a session.",
                           code="cancellation_window_out_of_range")
    return hours


def window_in_force(own_hours: int | None, default_hours: int) -> int:
    """The organisation's own cancellation window if it set one, else the operator's."""
    return default_hours if own_hours is None else own_hours


def terms(starts_at: datetime, now: datetime, *, window_hours: int,
          paid_by_organisation: bool) -> Terms:
    """What cancelling at `now` means for a session starting at `starts_at`."""
    deadline = starts_at - timedelta(hours=window_hours)
    return Terms(window_hours=window_hours, deadline=deadline, late=now > deadline,
                 paid_by_organisation=paid_by_organisation)


def message(terms: Terms, zone: ZoneInfo) -> str:
    """The policy sentence for these terms, with the deadline in the zone's local time."""
    deadline = local_time(terms.deadline, zone)
    if not terms.late:
        if terms.paid_by_organisation:
            return (f"If you cancel now, the session goes back to your organisation's allowance, "
                    f"so nothing is lost (free cancellation until {deadline}). You could also "
                    "reschedule it instead.")
        return (f"You can cancel now free of charge (free cancellation until {deadline}). "
                "You could also reschedule it instead.")
    if terms.paid_by_organisation:
        return (f"This session starts in less than {terms.window_hours} hours, so if you cancel "
                "now it counts as used and your organisation is charged for it, unless your "
                "therapist waives it. It is too late to reschedule.")
    return (f"This session starts in less than {terms.window_hours} hours, so if you cancel now "
            "the therapist's fee may still be due, unless they waive it. It is too late to "
            "reschedule.")


def too_late_to_reschedule(terms: Terms) -> Conflict:
    return Conflict(
        f"This session starts in less than {terms.window_hours} hours, so it can no "
        "longer be moved. You can still cancel it (it would count as used), or ask your "
        "therapist.", code="inside_cancellation_window")


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """E.g. "Tuesday 3 March at 18:00"."""
    local = moment.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B} at {local:%H:%M}"
