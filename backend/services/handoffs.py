"""Requests to talk to a person: recorded for the team, from anyone the channel verified."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backend.db import Database
from backend.models import HandoffRequest
from backend.services import audit
from backend.services.actors import Actor
from backend.services.validation import text

MAX_TOPIC_LENGTH = 64
MAX_MESSAGE_LENGTH = 2000


@dataclass(frozen=True)
class HandoffView:
    id: int
    topic: str
    status: str
    created_at: datetime


def request(db: Database, actor: Actor, *, topic: object, message: object = "") -> HandoffView:
    """Record that the actor asked for a person. Members and people not yet in an organisation
    may both ask; the request carries their organisation when they have one."""
    topic = text(topic, "topic", max_length=MAX_TOPIC_LENGTH)
    if message is None:
        message = ""
    if not isinstance(message, str):
        message = str(message)
    message = message.strip()[:MAX_MESSAGE_LENGTH]
    with db.transaction() as session:
        handoff = HandoffRequest(
            organisation_id=actor.organisation_id, identity=actor.identity,
            member_id=actor.member_id, topic=topic, message=message,
        )
        session.add(handoff)
        session.flush()
        audit.record(session, actor, "handoff.requested", "handoff_request", handoff.id,
                     organisation_id=actor.organisation_id, topic=topic)
        return HandoffView(handoff.id, handoff.topic, handoff.status, handoff.created_at)
