"""What a member can do instead when their organisation does not pay: the quote's and the
start of a booking's answers share these."""

from __future__ import annotations

from dataclasses import dataclass, field

_CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
# Refusals only the organisation can lift.
ADMIN_REASONS = ("authorisation_inactive", "no_sessions_left", "no_places_left",
                 "no_usable_grant")


@dataclass(frozen=True)
class Alternative:
    """Something the member can do instead when the organisation does not pay."""

    kind: str  # other_time | other_therapist | self_pay | ask_admin | talk_to_person
    message: str
    therapist_ids: list[int] = field(default_factory=list)  # other_therapist: these would be paid
    fee_minor: int | None = None  # self_pay
    currency: str | None = None


def money(minor: int, currency: str) -> str:
    symbol = _CURRENCY_SYMBOLS.get(currency.upper(), currency.upper() + " ")
    return f"{symbol}{minor / 100:,.2f}"
