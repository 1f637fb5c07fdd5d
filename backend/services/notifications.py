"""Messages for people, written in the transaction of the change that causes them (the outbox).

`notify_member` / `notify_admins` add a `Notification` and one `NotificationDelivery` per chat
identity of the person, in the caller's session: the change and its notification commit
together or not at all. The dispatcher process pushes each delivery into the person's channel
(backend/services/outbox/deliveries.py, backend/dispatcher/). What was not pushed yet is said by
the bot at the person's next turn (`take_mine`), and its deliveries are then skipped.
"""

from __future__ import annotations

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import Database, changed_rows
from backend.domain.enums import DeliveryState, Role
from backend.models import ChatIdentity, Member, Notification, NotificationDelivery
from backend.models.base import utcnow
from backend.services.actors import Actor, require_member
from contracts import answers
from contracts import push as push_format

MAX_PER_FETCH = 50


def notify_member(session: Session, organisation_id: int, member_id: int, kind: str,
                  text: str, *, buttons: list[dict[str, str]] | None = None,
                  slots: dict[str, push_format.SlotValue] | None = None,
                  dedupe_key: str | None = None) -> bool:
    """Tell one member; with a `dedupe_key`, only the first call for that key tells (False:
    already told). Pushed to each chat identity the member has in a channel that can push
    (contracts/push.py)."""
    notification = Notification(organisation_id=organisation_id, member_id=member_id,
                                kind=kind, text=text, buttons=buttons or None,
                                slots=slots or None, dedupe_key=dedupe_key)
    if dedupe_key is not None:
        if session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key)):
            return False
        try:
            with session.begin_nested():
                session.add(notification)
        except IntegrityError:  # told meanwhile by a concurrent transaction
            return False
    else:
        session.add(notification)
        session.flush()
    identities = session.execute(
        select(ChatIdentity.channel, ChatIdentity.external_id)
        .where(ChatIdentity.member_id == member_id,
               ChatIdentity.channel.in_(push_format.OUTPUT_CHANNELS))
        .order_by(ChatIdentity.id)
    ).all()
    for channel, external_id in identities:
        identity = f"{channel}:{external_id}"
        session.add(NotificationDelivery(
            notification_id=notification.id, identity=identity,
            dedupe_key=f"notification-{notification.id}-{identity}"))
    return True


def admins_of(session: Session, organisation_id: int) -> list[int]:
    return list(session.scalars(
        select(Member.id).where(Member.organisation_id == organisation_id,
                                Member.role == Role.ADMIN)
    ).all())


def notify_admins(session: Session, organisation_id: int, kind: str, text: str, *,
                  buttons: list[dict[str, str]] | None = None,
                  dedupe_key: str | None = None) -> int:
    """Tell every admin of the organisation; returns how many were told."""
    admins = admins_of(session, organisation_id)
    return sum(
        notify_member(session, organisation_id, member_id, kind, text, buttons=buttons,
                      dedupe_key=None if dedupe_key is None else f"{dedupe_key}-admin-{member_id}")
        for member_id in admins
    )


def take_mine(db: Database, actor: Actor) -> list[answers.Notification]:
    """The actor's notifications not yet pushed, oldest first, marked delivered; their pending
    pushes are skipped. Each is handed out once even when two fetches race: only the fetch whose
    UPDATE marks a row returns it. One being pushed right now is left to the push."""
    require_member(actor)
    being_pushed = exists().where(NotificationDelivery.notification_id == Notification.id,
                                  NotificationDelivery.state == DeliveryState.SENDING)
    undelivered = (Notification.member_id == actor.member_id,
                   Notification.delivered_at.is_(None), ~being_pushed)
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
                session.execute(
                    update(NotificationDelivery)
                    .where(NotificationDelivery.notification_id == row.id,
                           NotificationDelivery.state == DeliveryState.PENDING)
                    .values(state=DeliveryState.SKIPPED)
                    .execution_options(synchronize_session=False)
                )
                taken.append(answers.Notification(row.id, row.kind, row.text, row.created_at,
                                                  dict(row.slots or {})))
    return taken
