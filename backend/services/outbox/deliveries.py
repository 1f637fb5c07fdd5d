"""The dispatcher's side of the outbox: claim due deliveries, record how each went, list them.

A delivery is claimed by a guarded `UPDATE ... WHERE state = 'pending' AND next_attempt_at <= now
OR state = 'sending' AND lease_until < now`: of two dispatchers only one moves it, and a delivery
whose dispatcher died mid-push is claimed again once its lease ends. Its outcome is recorded only
by the dispatcher that holds it (`claimed_by`). A failure waits `retry_seconds * 2^(attempt-1)`
(at most `retry_max_seconds`) before the next attempt; after `max_attempts` it is failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, CursorResult, Update, and_, func, or_, select, update
from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain.enums import DeliveryState
from backend.models import Notification, NotificationDelivery
from contracts.push import SlotValue

MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    retry_seconds: float = 5
    retry_max_seconds: float = 900

    def delay(self, attempt: int) -> timedelta:
        return timedelta(seconds=min(self.retry_seconds * 2 ** max(attempt - 1, 0),
                                     self.retry_max_seconds))


@dataclass(frozen=True)
class Push:
    """One claimed delivery with what to say."""

    delivery_id: int
    identity: str
    dedupe_key: str
    attempt: int  # 1 for the first try
    kind: str
    text: str
    buttons: list[dict[str, str]]
    slots: dict[str, SlotValue]
    created_at: datetime

    @property
    def may_have_been_sent(self) -> bool:
        """An earlier attempt may have reached the conversation without its answer coming back."""
        return self.attempt > 1


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    notification_id: int
    kind: str
    identity: str
    state: str
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None


def _changed(session: Session, statement: Update) -> int:
    """Run a guarded UPDATE; how many rows it changed."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    return cast(CursorResult, result).rowcount


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(NotificationDelivery.state == DeliveryState.PENDING,
             NotificationDelivery.next_attempt_at <= now),
        and_(NotificationDelivery.state == DeliveryState.SENDING,
             NotificationDelivery.lease_until < now),
    )


def claim_due(db: Database, now: datetime, worker: str, lease_seconds: float,
              limit: int = 20) -> list[Push]:
    """Claim up to `limit` due deliveries for `worker` until `now + lease_seconds`."""
    with db.reader() as session:
        candidates = session.scalars(
            select(NotificationDelivery.id).where(_due(now))
            .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id).limit(limit)
        ).all()
    if not candidates:
        return []
    claimed: list[Push] = []
    with db.transaction() as session:
        for delivery_id in candidates:
            moved = _changed(session, update(NotificationDelivery)
                             .where(NotificationDelivery.id == delivery_id, _due(now))
                             .values(state=DeliveryState.SENDING, claimed_by=worker,
                                     lease_until=now + timedelta(seconds=lease_seconds),
                                     attempts=NotificationDelivery.attempts + 1))
            if moved == 1:
                claimed.append(_push(session, delivery_id))
    return claimed


def _push(session: Session, delivery_id: int) -> Push:
    delivery, note = session.execute(
        select(NotificationDelivery, Notification)
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        .where(NotificationDelivery.id == delivery_id)
    ).one()
    session.refresh(delivery)
    return Push(delivery.id, delivery.identity, delivery.dedupe_key, delivery.attempts,
                note.kind, note.text, list(note.buttons or []), dict(note.slots or {}),
                note.created_at)


def _held(delivery_id: int, worker: str):
    return (NotificationDelivery.id == delivery_id,
            NotificationDelivery.state == DeliveryState.SENDING,
            NotificationDelivery.claimed_by == worker)


def mark_delivered(db: Database, delivery_id: int, worker: str, now: datetime) -> bool:
    """Record a push that went through; False when the worker no longer held it."""
    with db.transaction() as session:
        moved = _changed(session, update(NotificationDelivery).where(*_held(delivery_id, worker))
                         .values(state=DeliveryState.DELIVERED, delivered_at=now,
                                 lease_until=None, last_error=None))
        if moved == 1:
            notification_id = select(NotificationDelivery.notification_id).where(
                NotificationDelivery.id == delivery_id).scalar_subquery()
            session.execute(
                update(Notification)
                .where(Notification.id == notification_id, Notification.delivered_at.is_(None))
                .values(delivered_at=now)
                .execution_options(synchronize_session=False)
            )
    return moved == 1


def mark_failed(db: Database, push: Push, worker: str, now: datetime, error: str,
                retry: RetryPolicy, *, final: bool = False) -> DeliveryState:
    """Record a failed attempt: pending again after the backoff, or failed for good (after the
    last attempt, or `final`: trying again cannot help)."""
    final = final or push.attempt >= retry.max_attempts
    state = DeliveryState.FAILED if final else DeliveryState.PENDING
    with db.transaction() as session:
        session.execute(
            update(NotificationDelivery).where(*_held(push.delivery_id, worker))
            .values(state=state, lease_until=None, last_error=error[:MAX_ERROR_CHARS],
                    next_attempt_at=now + retry.delay(push.attempt))
            .execution_options(synchronize_session=False)
        )
    return state


def counts(db: Database) -> dict[str, int]:
    """How many deliveries are in each state (every state listed)."""
    with db.reader() as session:
        found: dict[DeliveryState, int] = {
            state: count for state, count in session.execute(
                select(NotificationDelivery.state, func.count())
                .group_by(NotificationDelivery.state))}
    return {state.value: found.get(state, 0) for state in DeliveryState}


def listing(db: Database, state: DeliveryState | None = None,
            limit: int = 50) -> list[DeliveryRow]:
    """The newest deliveries (in one state), newest first."""
    query = (select(NotificationDelivery, Notification.kind)
             .join(Notification, Notification.id == NotificationDelivery.notification_id)
             .order_by(NotificationDelivery.id.desc()).limit(limit))
    if state is not None:
        query = query.where(NotificationDelivery.state == state)
    with db.reader() as session:
        rows = session.execute(query).all()
    return [DeliveryRow(delivery.id, delivery.notification_id, kind, delivery.identity,
                        delivery.state.value, delivery.attempts, delivery.next_attempt_at,
                        delivery.delivered_at, delivery.last_error)
            for delivery, kind in rows]
