"""What the organisation owes for a booking, and how often a payment that could not be settled
is tried again. The one place of the settle rule (PRODUCT.md rule 2): a booking change, the
reconciliation sweep and its database query all read it from here."""

from __future__ import annotations

from datetime import timedelta

from backend.domain.enums import BookingStatus, VoucherStatus

# A session is owed while it is confirmed or has taken place (voucher held or used), or after a
# late cancellation (voucher used). Declined, released and self-paid sessions never are.
_OWED_WHILE = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED)


def owed(booking: BookingStatus, voucher: VoucherStatus | None) -> bool:
    """Whether the organisation pays for a booking in this state with this voucher."""
    if voucher is None or voucher is VoucherStatus.RELEASED:
        return False
    if booking in _OWED_WHILE:
        return True
    return booking is BookingStatus.CANCELLED and voucher is VoucherStatus.USED


# Every (booking, voucher) state pair that is owed: the query's form of `owed`.
OWED_STATES: frozenset[tuple[BookingStatus, VoucherStatus]] = frozenset(
    (booking, voucher) for booking in BookingStatus for voucher in VoucherStatus
    if owed(booking, voucher))


def retry_delay(tries: int, *, base: timedelta, cap: timedelta) -> timedelta:
    """How long to wait before the next try after `tries` tries: doubling from `base`, never
    longer than `cap`."""
    if tries <= 0:
        return timedelta(0)
    delay: timedelta = base * (2 ** min(tries - 1, 30))
    return min(delay, cap)


def keeps_failing(tries: int, alert_after: int) -> bool:
    """Whether the admins are told now: once, when the tries reach `alert_after`."""
    return tries == alert_after
