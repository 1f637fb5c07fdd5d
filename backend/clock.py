"""What time it is, as one object the composition root builds and the time rules are given.

`SystemClock` is the real time. `FileClock` (development and tests only: production mode refuses
`DEV_CLOCK_FILE`, contracts/deployment.py) reads the ISO 8601 time written in a file at every
call, so a test moves the time of a running process without restarting it; an empty or missing
file means the real time. `FixedClock` is for tests in the same process.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """A clock the test sets and moves."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


class FileClock:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def now(self) -> datetime:
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            text = ""
        if not text:
            return datetime.now(timezone.utc)
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise ValueError(f"{self.path} must hold a time with a zone, not {text!r}")
        return moment.astimezone(timezone.utc)


def set_file_clock(path: str | Path, moment: datetime | None) -> None:
    """Write the time a FileClock answers (None: the real time again)."""
    Path(path).write_text("" if moment is None else moment.isoformat())


def build_clock(dev_clock_file: str) -> Clock:
    return FileClock(dev_clock_file) if dev_clock_file else SystemClock()
