"""Bookings, one module per job: `member` (book, cancel, reschedule), `therapist` (the
therapist's answers), `vouchers` (which grant pays and the session it holds), `lifecycle`
(the guarded status changes), `checks` (what every request must pass) and `views`."""

from backend.services.bookings.member import (
    CancellationPreview,
    book,
    cancel,
    cancellation_preview,
    list_mine,
    reschedule,
)
from backend.services.bookings.therapist import (
    cancel_by_therapist,
    complete,
    confirm,
    decline,
    list_for_therapist,
    waive_late_cancellation,
)
from backend.services.bookings.views import get

__all__ = ["CancellationPreview", "book", "cancel", "cancel_by_therapist",
           "cancellation_preview", "complete", "confirm", "decline", "get", "list_for_therapist",
           "list_mine", "reschedule", "waive_late_cancellation"]
