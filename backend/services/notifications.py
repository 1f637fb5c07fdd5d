"""Messages the bot delivers to people in their channel: one row per recipient."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.db import Database, changed_rows
from backend.domain.enums import Role
from backend.models import Member, Notification
from backend.models.base import utcnow
from backend.services.actors import Actor, require_member

MAX_PER_FETCH = 50


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    text: str
    created_at: datetime


def notify_member(session: Session, organisation_id: int, member_id: int, kind: str,
                  text: str) -> None:
    session.add(Notification(organisation_id=organisation_id, member_id=member_id, kind=kind,
                             text=text))


def notify_admins(session: Session, organisation_id: int, kind: str, text: str) -> int:
    """Tell every admin of the organisation; returns how many were told."""
    admins = session.scalars(
        select(Member.id).where(Member.organisation_id == organisation_id,
                                Member.role == Role.ADMIN)
    ).all()
    for member_id in admins:
        notify_member(session, organisation_id, member_id, kind, text)
    return len(admins)


def take_mine(db: Database, actor: Actor) -> list[NotificationView]:
    """The actor's undelivered notifications, oldest first, marked delivered. Each is handed
    out once even when two fetches race: only the fetch whose UPDATE marks a row returns it."""
    require_member(actor)
    undelivered = (Notification.member_id == actor.member_id,
                   Notification.delivered_at.is_(None))
    # The bot asks at every turn: answer "nothing" without taking the write lock.
    with db.reader() as session:
        if session.scalar(select(Notification.id).where(*undelivered).limit(1)) is None:
            return []
    taken = []
    with db.transaction() as session:
        pending = session.scalars(
            select(Notification)
            .where(*undelivered)
            .order_by(Notification.id)
            .limit(MAX_PER_FETCH)
        ).all()
        now = utcnow()
        for row in pending:
            marked = changed_rows(
                session,
                update(Notification)
                .where(Notification.id == row.id, Notification.delivered_at.is_(None))
                .values(delivered_at=now)
                .execution_options(synchronize_session=False)
            )
            if marked == 1:
                taken.append(NotificationView(row.id, row.kind, row.text, row.created_at))
    return taken
