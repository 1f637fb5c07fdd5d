"""The domain's enums where an answer of contracts/answers.py spells them as Literals.

A member of these `str` enums is its value (equal to it, and written as it in JSON), so it goes
into the answer as it is; only its static type changes. tests/backend/unit/test_spelling.py
checks that each enum and its Literal have the same values.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

from backend.domain.enums import (
    Access,
    AuthorisationStatus,
    BookingStatus,
    Coverage,
    Modality,
    Role,
    VoucherStatus,
    WatchStatus,
)
from contracts import answers

# Each enum with the Literal the answers spell it with.
SPELLINGS: tuple[tuple[type[Enum], Any], ...] = (
    (Coverage, answers.Coverage), (Access, answers.Access),
    (AuthorisationStatus, answers.AuthorisationStatus), (Modality, answers.Modality),
    (BookingStatus, answers.BookingStatus), (VoucherStatus, answers.VoucherStatus),
    (Role, answers.Role), (WatchStatus, answers.WatchStatus))


def _as_spelt(member: Enum) -> Any:
    return member


coverage: Callable[[Coverage], answers.Coverage] = _as_spelt
access: Callable[[Access], answers.Access] = _as_spelt
authorisation_status: Callable[[AuthorisationStatus], answers.AuthorisationStatus] = _as_spelt
modality: Callable[[Modality], answers.Modality] = _as_spelt
booking_status: Callable[[BookingStatus], answers.BookingStatus] = _as_spelt
voucher_status: Callable[[VoucherStatus], answers.VoucherStatus] = _as_spelt
role: Callable[[Role], answers.Role] = _as_spelt
watch_status: Callable[[WatchStatus], answers.WatchStatus] = _as_spelt
