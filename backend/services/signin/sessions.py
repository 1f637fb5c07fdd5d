"""Portal sessions: rows in the database, named to the browser by a random cookie token whose
hash is all that is stored. Ending a row signs the person out of every page and of the chat."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from backend.db import Database
from backend.models import Member, PortalSession
from backend.models.base import utcnow
from backend.services import audit
from backend.services.actors import Actor, link_identity
from backend.services.signin import principals, tokens
from backend.services.signin.principals import Account, Kind, Principal
from backend.services.signin.settings import PortalSettings
from contracts import web_identity


@dataclass(frozen=True)
class Started:
    cookie_token: str
    principal: Principal


def _account(row: PortalSession) -> Account:
    return Account(Kind(row.kind), row.email, row.member_id, row.therapist_id)


def start(session: Session, settings: PortalSettings, account: Account, method: str,
          now: datetime | None = None) -> Started:
    """Open a session for an account (inside the caller's transaction)."""
    now = now or utcnow()
    token = tokens.new_token()
    row = PortalSession(public_id=secrets.token_hex(16), token_hash=tokens.digest(token),
                        kind=account.kind.value, member_id=account.member_id,
                        therapist_id=account.therapist_id, email=account.email, method=method,
                        created_at=now, expires_at=now + timedelta(hours=settings.session_hours))
    session.add(row)
    session.flush()
    principal = principals.load(session, account, row.public_id, settings.staff_emails)
    if principal is None:
        raise LookupError("the account vanished while signing in")
    actor = Actor("portal", f"{principal.kind.value}:{principal.email}",
                  therapist_id=principal.therapist_id)
    if principal.member_id is not None:
        # The chat identity the widget will speak as, linked to the member it is.
        actor = link_identity(session, Actor(web_identity.IDENTITY_CHANNEL,
                                             str(principal.member_id)),
                              session.get_one(Member, principal.member_id))
    audit.record(session, actor, f"portal.signed_in.{method}",
                 principal.kind.value, principal.member_id or principal.therapist_id,
                 organisation_id=principal.organisation_id)
    return Started(token, principal)


def _live(token_hash: str, now: datetime):
    return select(PortalSession).where(PortalSession.token_hash == token_hash,
                                       PortalSession.ended_at.is_(None),
                                       PortalSession.expires_at > now)


def principal_of(db: Database, settings: PortalSettings, cookie_token: str | None,
                 now: datetime | None = None) -> Principal | None:
    """Who a session cookie signs in, or None (missing, unknown, ended or expired)."""
    if not tokens.well_formed(cookie_token):
        return None
    assert cookie_token is not None
    with db.reader() as session:
        row = session.scalar(_live(tokens.digest(cookie_token), now or utcnow()))
        if row is None:
            return None
        return principals.load(session, _account(row), row.public_id, settings.staff_emails)


def end(db: Database, cookie_token: str | None, now: datetime | None = None) -> bool:
    """Sign out: the session ends at once (True if there was one to end)."""
    if not tokens.well_formed(cookie_token):
        return False
    assert cookie_token is not None
    with db.transaction() as session:
        ended = cast(CursorResult, session.execute(
            update(PortalSession)
            .where(PortalSession.token_hash == tokens.digest(cookie_token),
                   PortalSession.ended_at.is_(None))
            .values(ended_at=now or utcnow()))).rowcount
    return bool(ended)


def holds_for(db: Database, public_id: object, member_id: int | None,
              now: datetime | None = None) -> bool:
    """Whether the session named in a widget's identity token still holds for that member (the
    chat channel asks before each message and at intervals)."""
    if not isinstance(public_id, str) or len(public_id) != 32 or member_id is None:
        return False
    with db.reader() as session:
        found = session.scalar(select(PortalSession.id).where(
            PortalSession.public_id == public_id, PortalSession.member_id == member_id,
            PortalSession.ended_at.is_(None), PortalSession.expires_at > (now or utcnow())))
    return found is not None
