"""A request for a person, as the service's team handles it: the one place of its status rule
and of when the team answers.

    open  --take-->  taken  --close-->  closed
                     taken  --reply-->  taken   (the team writes to the member)
                     taken  --relay-->  taken   (the member writes to the team)

A reply or a close needs someone to have taken the request first (the console's "Take" is the
team's "I have it"); anything else is refused with a Conflict that says why. While the request is
taken the assistant is quiet in the member's chat and relays what they write (the member's
`with_staff` conversation slot, set by the take and cleared by the close). The team answers
in its office hours (STAFF_OFFICE_HOURS, e.g. "Mon-Fri 09:00-17:00" in the service's zone):
`OfficeHours.expected_answer(now)` says when a person who asks now can expect one.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.domain.errors import Conflict


class HandoffStatus(str, enum.Enum):
    OPEN = "open"
    TAKEN = "taken"
    CLOSED = "closed"


class HandoffVerb(str, enum.Enum):
    TAKE = "take"
    REPLY = "reply"
    CLOSE = "close"
    RELAY = "relay"


class Author(str, enum.Enum):
    """Who wrote a line of a request's thread."""

    STAFF = "staff"
    MEMBER = "member"


# (status now, verb) -> status after; what is not here is refused.
TRANSITIONS: dict[tuple[HandoffStatus, HandoffVerb], HandoffStatus] = {
    (HandoffStatus.OPEN, HandoffVerb.TAKE): HandoffStatus.TAKEN,
    (HandoffStatus.TAKEN, HandoffVerb.REPLY): HandoffStatus.TAKEN,
    (HandoffStatus.TAKEN, HandoffVerb.CLOSE): HandoffStatus.CLOSED,
    (HandoffStatus.TAKEN, HandoffVerb.RELAY): HandoffStatus.TAKEN,
}

_REFUSALS: dict[tuple[HandoffStatus, HandoffVerb], str] = {
    (HandoffStatus.TAKEN, HandoffVerb.TAKE): "Someone has taken this request already.",
    (HandoffStatus.OPEN, HandoffVerb.REPLY): "Take this request before replying to it.",
    (HandoffStatus.OPEN, HandoffVerb.CLOSE): "Take this request before closing it.",
    (HandoffStatus.OPEN, HandoffVerb.RELAY): "Nobody from the team has taken this request yet.",
}


def after(status: str, verb: HandoffVerb) -> HandoffStatus:
    """The status a request moves to when `verb` is done to it; Conflict if it may not be."""
    current = HandoffStatus(status)
    found = TRANSITIONS.get((current, verb))
    if found is None:
        message = _REFUSALS.get((current, verb), "This request is closed already.")
        raise Conflict(message, code=f"handoff_{current.value}")
    return found


def staff_name(email: str) -> str:
    """How a member is told who wrote: the first word of the address, "sam.lee@x" -> "Sam"."""
    word = re.split(r"[._+\-]", email.partition("@")[0], maxsplit=1)[0]
    return word.capitalize() or "someone"


def reply_text(email: str, text: str) -> str:
    """A reply as the member reads it in their chat: they know a person wrote it."""
    return f"From {staff_name(email)} at the support team: {text}"


def taken_text(email: str) -> str:
    """What the member is told when someone of the team takes their request."""
    return (f"{staff_name(email)} from the support team is with you now. What you write here "
            "goes to them; the assistant will stay quiet until they hand you back.")


def handed_back_text(email: str) -> str:
    """What the member is told when the team closes their request."""
    return (f"{staff_name(email)} from the support team has handed you back to the assistant. "
            "I'm here again: ask me anything, like finding a therapist.")


DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_HOURS = re.compile(r"(?P<first>[A-Za-z]{3})(?:-(?P<last>[A-Za-z]{3}))?\s+"
                    r"(?P<opens>\d{2}:\d{2})-(?P<closes>\d{2}:\d{2})")


@dataclass(frozen=True)
class ExpectedAnswer:
    open_now: bool
    # When the team is next in (now, when it is in), in the office's zone.
    from_time: datetime
    text: str


@dataclass(frozen=True)
class OfficeHours:
    """When the team answers: a range of weekdays and one daily window, in one zone."""

    days: frozenset[int]  # date.weekday() numbers
    opens: time
    closes: time
    zone: ZoneInfo
    spec: str

    @classmethod
    def parse(cls, spec: str, zone: str) -> OfficeHours:
        """`"Mon-Fri 09:00-17:00"` (or `"Sat 10:00-12:00"`); ValueError saying what is wrong."""
        found = _HOURS.fullmatch(spec.strip())
        if found is None:
            raise ValueError(f"office hours must look like Mon-Fri 09:00-17:00, not {spec!r}")
        names = [name.capitalize() for name in (found["first"], found["last"] or found["first"])]
        if any(name not in DAYS for name in names):
            raise ValueError(f"unknown day in office hours {spec!r}: use Mon, Tue … Sun")
        first, last = (DAYS.index(name) for name in names)
        days = frozenset((first + step) % 7 for step in range((last - first) % 7 + 1))
        opens, closes = time.fromisoformat(found["opens"]), time.fromisoformat(found["closes"])
        if closes <= opens:
            raise ValueError(f"office hours must close after they open: {spec!r}")
        return cls(days, opens, closes, ZoneInfo(zone), spec.strip())

    def next_open(self, now: datetime) -> datetime:
        """`now` (in the office's zone) when the team is in; otherwise when it next opens."""
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        local = now.astimezone(self.zone)
        for ahead in range(8):
            day = local.date() + timedelta(days=ahead)
            if day.weekday() not in self.days:
                continue
            opens = datetime.combine(day, self.opens, self.zone)
            closes = datetime.combine(day, self.closes, self.zone)
            if local < closes:
                return max(opens, local)
        raise AssertionError("office hours have at least one day a week")

    def expected_answer(self, now: datetime) -> ExpectedAnswer:
        """What a person who asks for someone at `now` is told about when they hear back."""
        start = self.next_open(now)
        if start == now.astimezone(self.zone):
            return ExpectedAnswer(True, start, "The support team is in now "
                                  f"({self.spec}): someone will answer you soon.")
        when = start.strftime("%A at %H:%M")
        if start.date() == now.astimezone(self.zone).date():
            when = start.strftime("today at %H:%M")
        elif start.date() == now.astimezone(self.zone).date() + timedelta(days=1):
            when = start.strftime("tomorrow at %H:%M")
        return ExpectedAnswer(False, start, "The support team is away now "
                              f"({self.spec}); someone will answer you from {when}.")
