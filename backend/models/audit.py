"""The audit log of every state change, and requests for a person from the team."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    actor: Mapped[str] = mapped_column(String(240))  # "member:12", "therapist:3", "system"
    action: Mapped[str] = mapped_column(String(64))  # "authorisation.created", ...
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class HandoffRequest(Base):
    """Someone asked to talk to a person; the team picks these up."""

    __tablename__ = "handoff_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    identity: Mapped[str] = mapped_column(String(240))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    topic: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # For the service's own team only, never for an organisation's admins: a crisis answer the
    # bot gave, or a request for a person right after one (PRODUCT.md rule 7).
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    risk_kind: Mapped[str | None] = mapped_column(String(32))
    # When it happened in the chat (an alert may arrive later, when the backend was down).
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The sender's own key, so that a request sent again after a timeout is recorded once.
    reference: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The service's team (the staff console): who took it and when, and when it was closed.
    taken_by: Mapped[str | None] = mapped_column(String(320))
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HandoffReply(Base):
    """A line of a request's thread: what someone of the team wrote back (sent to the member's
    chat), or what the member wrote while the team had the request (relayed by the bot)."""

    __tablename__ = "handoff_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoff_requests.id"), index=True)
    # "staff" or "member" (backend/domain/handoffs.py Author); the team's address for "staff".
    author: Mapped[str] = mapped_column(String(16), default="staff", server_default="staff")
    staff_email: Mapped[str | None] = mapped_column(String(320))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
