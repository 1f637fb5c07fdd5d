"""The operator's policies the use cases follow, read once from the settings.

The app factory builds one `Policy` from its `Settings` and the routes hand it to the
services; a caller that passes none (a test, a script) gets the documented defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from backend.settings import Settings


@dataclass(frozen=True)
class Policy:
    cancellation_window_hours: int  # the default; an organisation may set its own
    session_minutes: int
    booking_horizon_days: int  # how far ahead sessions can be booked
    zone: ZoneInfo  # therapists' weekly availability and people's clocks are in this zone
    reporting_min_group: int  # figures about fewer people are withheld
    invite_ttl_days: int
    redeem_attempts_limit: int  # wrong invite codes allowed per identity per window
    redeem_attempts_window_minutes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            cancellation_window_hours=settings.cancellation_window_hours,
            session_minutes=settings.session_minutes,
            booking_horizon_days=settings.booking_horizon_days,
            zone=ZoneInfo(settings.timezone),
            reporting_min_group=settings.reporting_min_group,
            invite_ttl_days=settings.invite_ttl_days,
            redeem_attempts_limit=settings.redeem_attempts_limit,
            redeem_attempts_window_minutes=settings.redeem_attempts_window_minutes,
        )


# The defaults of backend/settings.py, without reading the environment.
DEFAULT_POLICY = Policy.from_settings(Settings.model_construct())
