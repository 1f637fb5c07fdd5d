"""The cancellation policy: cancel early and the session goes back to the grant."""

from __future__ import annotations

from datetime import datetime, timedelta


def released_on_cancel(starts_at: datetime, now: datetime, window_hours: int) -> bool:
    """True when cancelling now gives the session back (outside the policy window)."""
    return starts_at - now >= timedelta(hours=window_hours)
