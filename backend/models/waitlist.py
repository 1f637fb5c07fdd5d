"""Members' waitlist entries (backend/domain/waitlist.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from backend.domain.enums import WatchStatus
from backend.models.base import Base, UTCDateTime, str_enum, utcnow


class Watch(Base):
    """One search kept waiting for a free time. `filters` are the search's canonical filters
    (services/search/filters.py), so a scan runs the search as the member would."""

    __tablename__ = "watches"
    __table_args__ = (Index("ix_watches_status_expires_at", "status", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("therapists.id"))
    filters: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[WatchStatus] = mapped_column(str_enum(WatchStatus),
                                                default=WatchStatus.WAITING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
