"""The columns of a single-use `state` of an install flow started on the portal ("Add to Slack",
"Connect Microsoft Teams"): only its hash is kept, bound to the admin and organisation that
started it, with when it expires and when it was used (backend/services/install_states.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import UTCDateTime, utcnow


class InstallStateColumns:
    """Mixed into one table per flow (slack_install_states, teams_consent_states)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
