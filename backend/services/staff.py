"""The staff console's use cases: the service's own team lists the requests for a person, takes
one, replies into the member's own chat (through the outbox) and closes it. While it is taken the
assistant is quiet in the member's chat and relays what they write (`relay`) to the request's
thread: the take and the close tell the member, and set and clear their `with_staff` slot.

Each verb is one transaction: the request's row is locked, the status rule of
backend/domain/handoffs.py decides, and the change, its audit event and (for a reply) the
recorded reply and the member's notification commit together. Urgent requests (PRODUCT.md
rule 7) are shown first; they are for this team only (no admin sees this console), so their
audit events carry no organisation, as when they were recorded (services/handoffs.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain import handoffs as rules
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.handoffs import Author, HandoffStatus, HandoffVerb
from backend.models import HandoffReply, HandoffRequest, Member, Organisation
from backend.models.base import utcnow
from backend.services import audit, notifications
from backend.services.actors import Actor, member_of
from backend.services.handoffs import view
from contracts.answers import Handoff
from contracts.identity import DEV, SEPARATOR, SLACK, TEAMS, WEB
from contracts.push import WITH_STAFF_SLOT

REPLY_KIND = "staff_reply"
TAKEN_KIND = "staff_taken"
HANDED_BACK_KIND = "staff_handed_back"
NOT_WITH_STAFF = "not_with_staff"
MAX_REPLY_LENGTH = 2000
STAFF_CHANNEL = "staff"
CHANNEL_NAMES = {SLACK: "Slack", TEAMS: "Teams", WEB: "website", DEV: "development chat"}


@dataclass(frozen=True)
class ReplyView:
    """A line of the thread: the team's (with who wrote it) or the member's."""

    author: str
    staff_email: str | None
    text: str
    created_at: datetime


@dataclass(frozen=True)
class ConsoleItem:
    id: int
    topic: str
    status: str
    urgent: bool
    risk_kind: str | None
    channel: str
    organisation_name: str | None
    has_member: bool
    created_at: datetime
    taken_by: str | None
    taken_at: datetime | None
    replies: list[ReplyView]


@dataclass(frozen=True)
class Console:
    open: list[ConsoleItem]
    taken: list[ConsoleItem]  # being handled


def actor_for(email: str) -> Actor:
    """Someone of the team as the audit log names them."""
    return Actor(STAFF_CHANNEL, email)


def channel_of(identity: str) -> str:
    prefix = identity.partition(SEPARATOR)[0]
    return CHANNEL_NAMES.get(prefix, prefix)


def console(db: Database) -> Console:
    """Requests not closed: open ones, then those being handled; urgent first, then oldest."""
    with db.reader() as session:
        rows = session.execute(
            select(HandoffRequest, Organisation.name)
            .outerjoin(Organisation, Organisation.id == HandoffRequest.organisation_id)
            .where(HandoffRequest.status.in_([HandoffStatus.OPEN.value,
                                              HandoffStatus.TAKEN.value]))
            .order_by(case((HandoffRequest.urgent.is_(True), 0), else_=1),
                      HandoffRequest.created_at, HandoffRequest.id)).all()
        ids = [row.id for row, _ in rows]
        replies: dict[int, list[ReplyView]] = {handoff_id: [] for handoff_id in ids}
        if ids:
            for reply in session.scalars(select(HandoffReply)
                                         .where(HandoffReply.handoff_id.in_(ids))
                                         .order_by(HandoffReply.id)):
                replies[reply.handoff_id].append(
                    ReplyView(reply.author, reply.staff_email, reply.text, reply.created_at))
        items = [ConsoleItem(row.id, row.topic, row.status, row.urgent, row.risk_kind,
                             channel_of(row.identity), name, row.member_id is not None,
                             row.created_at, row.taken_by, row.taken_at, replies[row.id])
                 for row, name in rows]
    return Console([item for item in items if item.status == HandoffStatus.OPEN.value],
                   [item for item in items if item.status == HandoffStatus.TAKEN.value])


def _bounded(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInput(f"Type the {what} to send.", code=f"empty_{what}")
    if len(text) > MAX_REPLY_LENGTH:
        raise InvalidInput(f"A {what} is at most {MAX_REPLY_LENGTH} characters.",
                           code=f"{what}_too_long")
    return text


def _locked(session: Session, handoff_id: int) -> HandoffRequest:
    handoff = session.scalar(select(HandoffRequest).where(HandoffRequest.id == handoff_id)
                             .with_for_update())
    if handoff is None:
        raise NotFound("No request for a person with that id.")
    return handoff


def _locked_after_its_member(session: Session, handoff_id: int) -> HandoffRequest:
    """The request locked after its member's row, so that the takes and closes of one member's
    requests run one after the other: whether someone of the team still has that member is never
    read from a change another transaction has not committed yet."""
    member_id = session.scalar(select(HandoffRequest.member_id)
                               .where(HandoffRequest.id == handoff_id))
    if member_id is not None:  # FOR NO KEY UPDATE: rows that only refer to the member go on
        session.execute(select(Member.id).where(Member.id == member_id)
                        .with_for_update(key_share=True))
    return _locked(session, handoff_id)


def _still_with_staff(session: Session, handoff: HandoffRequest) -> bool:
    """Whether someone of the team has another request of this member in hand: the assistant
    stays quiet until the last one is closed."""
    return handoff.member_id is not None and session.scalar(
        select(HandoffRequest.id).where(HandoffRequest.member_id == handoff.member_id,
                                        HandoffRequest.status == HandoffStatus.TAKEN.value,
                                        HandoffRequest.id != handoff.id).limit(1)) is not None


def _record(session: Session, email: str, action: str, handoff: HandoffRequest) -> None:
    organisation_id = None if handoff.urgent else handoff.organisation_id
    audit.record(session, actor_for(email), action, "handoff_request", handoff.id,
                 organisation_id=organisation_id)


def take(db: Database, staff_email: str, handoff_id: int, now: datetime | None = None) -> None:
    """Assign the request to this member of the team (who and when)."""
    with db.transaction() as session:
        handoff = _locked_after_its_member(session, handoff_id)
        handoff.status = rules.after(handoff.status, HandoffVerb.TAKE).value
        handoff.taken_by, handoff.taken_at = staff_email, now or utcnow()
        _record(session, staff_email, "handoff.taken", handoff)
        _tell_member(session, handoff, TAKEN_KIND, rules.taken_text(staff_email), with_staff=True)


def close(db: Database, staff_email: str, handoff_id: int, now: datetime | None = None) -> None:
    with db.transaction() as session:
        handoff = _locked_after_its_member(session, handoff_id)
        handoff.status = rules.after(handoff.status, HandoffVerb.CLOSE).value
        handoff.closed_at = now or utcnow()
        _record(session, staff_email, "handoff.closed", handoff)
        if not _still_with_staff(session, handoff):
            _tell_member(session, handoff, HANDED_BACK_KIND,
                         rules.handed_back_text(staff_email), with_staff=False)


def _tell_member(session: Session, handoff: HandoffRequest, kind: str, text: str, *,
                 with_staff: bool) -> None:
    """Push `text` into the member's chats with their `with_staff` slot (the assistant quiet or
    back); someone with no membership has no chat to push to."""
    if handoff.member_id is None:
        return
    member = session.get_one(Member, handoff.member_id)
    notifications.notify_member(session, member.organisation_id, member.id, kind, text,
                                slots={WITH_STAFF_SLOT: with_staff})


def reply(db: Database, staff_email: str, handoff_id: int, text: str,
          now: datetime | None = None) -> None:
    """Write back to the member who asked, into their own chat (a `staff_reply` notification
    the dispatcher pushes to each of their chat identities), and keep the reply for the
    console's thread. Someone with no membership cannot be reached this way."""
    text = _bounded(text, "reply")
    with db.transaction() as session:
        handoff = _locked(session, handoff_id)
        rules.after(handoff.status, HandoffVerb.REPLY)
        if handoff.member_id is None:
            raise Conflict("This person is not a member of any organisation, so a reply "
                           "cannot reach their chat; answer them another way.",
                           code="no_member")
        member = session.get_one(Member, handoff.member_id)
        session.add(HandoffReply(handoff_id=handoff.id, author=Author.STAFF.value,
                                 staff_email=staff_email, text=text, created_at=now or utcnow()))
        notifications.notify_member(session, member.organisation_id, member.id, REPLY_KIND,
                                    rules.reply_text(staff_email, text))
        _record(session, staff_email, "handoff.replied", handoff)


def relay(db: Database, actor: Actor, text: str, now: datetime | None = None) -> Handoff:
    """What the member wrote while someone of the team has their request, added to its thread.
    Only the member's own request in hand is written to (the latest taken); none: NotFound, and
    the bot gives the conversation back to the assistant."""
    member_id = member_of(actor)[0]
    text = _bounded(text, "message")
    with db.transaction() as session:
        # Locked with its condition: a close that commits first leaves nothing to write to.
        handoff = session.scalar(
            select(HandoffRequest)
            .where(HandoffRequest.member_id == member_id,
                   HandoffRequest.status == HandoffStatus.TAKEN.value)
            .order_by(HandoffRequest.taken_at.desc(), HandoffRequest.id.desc()).limit(1)
            .with_for_update())
        if handoff is None:
            raise NotFound("Nobody from the support team has your conversation now.",
                           code=NOT_WITH_STAFF)
        handoff.status = rules.after(handoff.status, HandoffVerb.RELAY).value
        session.add(HandoffReply(handoff_id=handoff.id, author=Author.MEMBER.value, text=text,
                                 created_at=now or utcnow()))
        return view(handoff)
