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
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from backend.db import Database
from backend.domain.errors import Conflict
from backend.models import Notification
from backend.models.base import utcnow
from backend.services import audit, notifications
from backend.services.actors import Actor, require_member

KIND = "more_sessions_requested"
ADMIN_TEXT = ("Someone in your organisation asked for more therapy sessions. You can add sessions "
              "to an authorisation (\"top up\") in the portal or by chat; who asked is never "
              "shown to anyone.")


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
                                                      ADMIN_TEXT, dedupe_key=key):
            return MoreSessionsAsked(False, ALREADY)
        # The audit log keeps the organisation and the time, not who asked.
        audit.record(session, Actor("anonymous", "member"), "more_sessions.requested",
                     "organisation", organisation_id, organisation_id=organisation_id)
    return MoreSessionsAsked(True, TOLD)
