"""Requests to talk to a person: recorded for the team, from anyone the channel verified.

A crisis answer the bot gave (topic "crisis") and a request for a person right after one (topic
"safety") are urgent (PRODUCT.md rule 7): they are for the service's own team, never for the
organisation's admins (the audit log does not tie them to the organisation), and none of the
person's words are kept: the kind of risk, who they are, the channel and the time are enough to
reach them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain.enums import RiskKind
from backend.domain.errors import Conflict, InvalidInput
from backend.domain.handoffs import OfficeHours
from backend.models import HandoffRequest
from backend.models.base import utcnow
from backend.services import audit
from backend.services.actors import Actor
from backend.services.validation import required
from contracts.answers import Handoff

MAX_TOPIC_LENGTH = 64
MAX_MESSAGE_LENGTH = 2000
MAX_REFERENCE_LENGTH = 64
URGENT_TOPICS = frozenset({"crisis", "safety"})
# A sender's clock may be a little ahead of ours; an alert from further in the future is wrong.
CLOCK_TOLERANCE = timedelta(minutes=5)


def request(db: Database, actor: Actor, *, topic: str | None, message: str = "",
            risk_kind: RiskKind | None = None, reference: str | None = None,
            occurred_at: datetime | None = None,
            hours: OfficeHours | None = None) -> Handoff:
    """Record that the actor asked for a person, or that the bot gave them a crisis answer.
    Members and people not yet in an organisation may both ask; the request carries their
    organisation when they have one. Sent again with the same `reference`, it is recorded once.
    The API edge trims and bounds the texts and parses the time. With the team's office `hours`,
    the answer says when the team will answer."""
    topic = required(topic, "topic")
    urgent = topic in URGENT_TOPICS
    if risk_kind is not None and not urgent:
        raise InvalidInput("A kind of risk goes only with a crisis or safety request.")
    kind = None if risk_kind is None else risk_kind.value
    key = reference
    when = _occurred_at(occurred_at)
    kept_message = "" if urgent else message.strip()[:MAX_MESSAGE_LENGTH]
    with db.transaction() as session:
        if key is not None and (earlier := _by_reference(session, key, actor)) is not None:
            return view(earlier, hours)
        handoff = HandoffRequest(
            organisation_id=actor.organisation_id, identity=actor.identity,
            member_id=actor.member_id, topic=topic, message=kept_message, urgent=urgent,
            risk_kind=kind, reference=key, occurred_at=when,
        )
        session.add(handoff)
        session.flush()
        if urgent:
            audit.record(session, actor, "handoff.urgent", "handoff_request", handoff.id)
        else:
            audit.record(session, actor, "handoff.requested", "handoff_request", handoff.id,
                         organisation_id=actor.organisation_id, topic=topic)
        return view(handoff, hours)


def _occurred_at(value: datetime | None) -> datetime:
    if value is None:
        return utcnow()
    if value > utcnow() + CLOCK_TOLERANCE:
        raise InvalidInput("occurred_at must be a past date and time with its time zone, "
                           "like 2026-12-02T14:30:00+00:00.")
    return value


def _by_reference(session: Session, reference: str, actor: Actor) -> HandoffRequest | None:
    earlier = session.scalar(select(HandoffRequest).where(HandoffRequest.reference == reference))
    if earlier is not None and earlier.identity != actor.identity:
        raise Conflict("That reference belongs to another request.")
    return earlier


def view(handoff: HandoffRequest, hours: OfficeHours | None = None) -> Handoff:
    expected = "" if hours is None else hours.expected_answer(utcnow()).text
    return Handoff(handoff.id, handoff.topic, handoff.status, handoff.urgent,
                   handoff.risk_kind, handoff.created_at, expected)
