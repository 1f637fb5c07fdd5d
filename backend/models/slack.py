"""Slack installations: one per workspace, connecting it to one organisation, with the
workspace's bot token (encrypted, backend/services/slack/sealing.py); and the single-use states
of the "Add to Slack" flows in progress (only their hashes are stored)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime, utcnow
from backend.models.install_states import InstallStateColumns


class SlackInstallation(Base):
    __tablename__ = "slack_installations"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64), unique=True)
    team_name: Mapped[str | None] = mapped_column(String(200))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), unique=True)
    bot_user_id: Mapped[str] = mapped_column(String(64))
    # The xoxb- token, encrypted with SLACK_TOKEN_KEYS (never stored in clear).
    bot_token_sealed: Mapped[str] = mapped_column(String(2000))
    # The Slack member who installed the app, and the portal admin they were signed in as.
    installer_user_id: Mapped[str] = mapped_column(String(64))
    installed_by_member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SlackInstallState(InstallStateColumns, Base):
    """The `state` of one "Add to Slack" round trip, bound to the admin who started it."""

    __tablename__ = "slack_install_states"
