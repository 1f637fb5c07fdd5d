"""A member asks for more sessions: the organisation's admins are told that someone asked, never
who (PRODUCT.md: admins never see who uses the benefit).

Nothing tying the request to the person is stored. So that asking twice tells the admins once
a month, the admins' notification carries a dedupe key made from the member's id and the month
with a keyed hash (HMAC-SHA256 under a server secret): it repeats for one person within a month,
and neither admins nor anyone without the secret can turn it back into the person.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain.enums import AuthorisationStatus
from backend.domain.errors import Conflict
from backend.models import Authorisation, Notification
from backend.models.base import utcnow
from backend.services import audit, notifications
from backend.services.actors import Actor, require_admin, require_member
from contracts import answers

KIND = "more_sessions_requested"
ADMIN_TEXT = ("Someone in your organisation asked for more therapy sessions. You can add sessions "
              "to an authorisation (\"top up\") in the portal or by chat; who asked is never "
              "shown to anyone.")
# The push's buttons start the bot's top-up of one authorisation. Every active authorisation is
# offered, whoever asked: the buttons must not tell which one the person is on (PRODUCT.md rule 5).
TOP_UP_INTENT = "top_up_authorisation"
MAX_BUTTONS = 5


TOLD = ("I've told your organisation's admins that someone would like more sessions. They are "
        "never told who asked; if they add sessions, you'll see them here.")
ALREADY = ("You have asked already this month, and your organisation's admins have been told. "
           "They are never told who asked.")


@dataclass(frozen=True)
class MoreSessionsAsked:
    admins_told: bool  # False: this person asked already this month, the admins know
    message: str


def _dedupe_key(secret: str, member_id: int, month: str) -> str:
    digest = hmac.new(secret.encode(), f"more-sessions:{member_id}:{month}".encode(),
                      hashlib.sha256).hexdigest()
    return f"more-sessions-{digest[:40]}"


def ask(db: Database, actor: Actor, secret: str, now: datetime | None = None) -> MoreSessionsAsked:
    """Tell the actor's admins that someone asked for more sessions (once a month per person)."""
    organisation_id = require_member(actor)
    assert actor.member_id is not None
    key = _dedupe_key(secret, actor.member_id, (now or utcnow()).strftime("%Y-%m"))
    with db.transaction() as session:
        if not notifications.admins_of(session, organisation_id):
            raise Conflict("Your organisation has no admin to ask yet.", code="no_admin")
        already = session.scalar(select(Notification.id).where(
            Notification.dedupe_key.startswith(key)).limit(1)) is not None
        # notify_admins tells nobody when a concurrent ask of the same person told them first.
        if already or not notifications.notify_admins(session, organisation_id, KIND,
                                                      ADMIN_TEXT,
                                                      buttons=top_up_buttons(session,
                                                                             organisation_id),
                                                      dedupe_key=key):
            return MoreSessionsAsked(False, ALREADY)
        # The audit log keeps the organisation and the time, not who asked.
        audit.record(session, Actor("anonymous", "member"), "more_sessions.requested",
                     "organisation", organisation_id, organisation_id=organisation_id)
    return MoreSessionsAsked(True, TOLD)


def top_up_buttons(session: Session, organisation_id: int) -> list[dict[str, str]]:
    """A button per active authorisation of the organisation (the same for every request)."""
    active = session.scalars(
        select(Authorisation).where(Authorisation.organisation_id == organisation_id,
                                    Authorisation.status == AuthorisationStatus.ACTIVE)
        .order_by(Authorisation.id).limit(MAX_BUTTONS)).all()
    return [{"title": f"Top up {item.name}",
             "payload": f"/{TOP_UP_INTENT}"
                        + json.dumps({"top_up_authorisation_id": str(item.id)})}
            for item in active]


def requests(db: Database, actor: Actor,
             now: datetime | None = None) -> answers.MoreSessionsRequests:
    """How many people asked for more sessions this month: the admin's own notifications of
    them, so a count of what the admin was told already, and never who."""
    require_admin(actor)
    moment = now or utcnow()
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    with db.reader() as session:
        count = session.scalar(select(func.count(Notification.id)).where(
            Notification.member_id == actor.member_id, Notification.kind == KIND,
            Notification.created_at >= start))
    return answers.MoreSessionsRequests(this_month=int(count or 0))
