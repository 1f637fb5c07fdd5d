"""Confidentiality of admins' figures (PRODUCT.md rule 5): counts and sums only, each about at
least the minimum group of people, and never two reports whose difference singles someone out.

The scheme, in three parts:

1. Every figure is built from contributions: one person's booking made, session used, payment
   taken or refund given, each dated when it happened (not when its row last changed). A later
   refund is a new contribution in its own month; it never rewrites the month of the payment.
2. Contributions are counted in cells: one authorisation, one calendar month (UTC), one figure.
   A cell is released only once its month has ended, and only when at least the minimum group of
   distinct people contributed to it. Since its contributions are dated inside a month that is
   over, a released cell never changes again, and a withheld one never becomes released.
3. Every total shown (per authorisation, per month, per currency) is a sum of released cells
   only, so no total minus other shown figures leaves a withheld cell.

So between two reports the figures move only when a month ends, and then by whole cells of at
least the minimum group of people: one booking or charge changes nothing an admin can see.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Contribution:
    """One person's part in a figure, dated when it happened."""

    authorisation_id: int
    figure: Hashable  # what is counted, e.g. "sessions_booked" or ("charged", "GBP")
    person: int
    at: datetime
    amount: int = 0


@dataclass(frozen=True)
class Cell:
    """A released figure: one authorisation, one month, how many contributions and their sum."""

    authorisation_id: int
    month: str  # "2026-03"
    figure: Hashable
    count: int
    total: int


def month_of(moment: datetime) -> str:
    return f"{moment:%Y-%m}"


def disclosed(people: int, minimum_group: int) -> bool:
    """Whether a figure counting `people` distinct people may be shown."""
    return people >= minimum_group


def released_cells(contributions: Iterable[Contribution], minimum_group: int,
                   now: datetime) -> list[Cell]:
    """The cells that may be shown at `now`: months that have ended, each with at least
    `minimum_group` distinct people in it. Ordered by month, authorisation, then figure."""
    current = month_of(now)
    cells: dict[tuple[int, str, Hashable], list[Contribution]] = defaultdict(list)
    for item in contributions:
        month = month_of(item.at)
        if month < current:
            cells[(item.authorisation_id, month, item.figure)].append(item)
    released = [
        Cell(authorisation_id, month, figure, len(items), sum(item.amount for item in items))
        for (authorisation_id, month, figure), items in cells.items()
        if disclosed(len({item.person for item in items}), minimum_group)
    ]
    return sorted(released, key=lambda cell: (cell.month, cell.authorisation_id, str(cell.figure)))


def withheld_reason(minimum_group: int, *, figures: str = "Figures") -> str:
    """Why figures are missing: "Figures appear for each month that has ended with at least 5
    people counted in it, so that nobody can be singled out." """
    return (f"{figures} appear for each month that has ended with at least {minimum_group} "
            "people counted in it, so that nobody can be singled out.")
