"""The therapist inbox: requested sessions to confirm or decline, sessions held to mark
completed, and (development sign-in only) the therapists one may sign in as."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from backend.db import Database
from backend.domain.enums import BookingStatus
from backend.domain.errors import NotFound
from backend.models import Therapist
from backend.services.actors import Actor
from backend.services.bookings import therapist as answers
from backend.services.signin import sessions
from backend.services.signin.principals import Account, Kind
from backend.services.signin.settings import PortalSettings
from contracts.answers import Booking

INBOX_CHANNEL = "inbox"
MAX_SIGN_IN_CHOICES = 50


@dataclass(frozen=True)
class Inbox:
    therapist_id: int
    therapist_name: str
    requested: list[Booking]
    to_complete: list[Booking]  # confirmed sessions that have ended


@dataclass(frozen=True)
class TherapistChoice:
    id: int
    name: str
    email: str | None


def actor_for(therapist_id: int) -> Actor:
    """The signed-in therapist as the services' actor."""
    return Actor(INBOX_CHANNEL, f"therapist-{therapist_id}", therapist_id=therapist_id)


def inbox(db: Database, therapist_id: int, now: datetime) -> Inbox:
    with db.reader() as session:
        therapist = session.get(Therapist, therapist_id)
        if therapist is None:
            raise NotFound("No therapist with that id.")
        name = therapist.name
    actor = actor_for(therapist_id)
    confirmed = answers.list_for_therapist(db, actor, status=BookingStatus.CONFIRMED)
    return Inbox(therapist_id, name,
                 answers.list_for_therapist(db, actor, status=BookingStatus.REQUESTED),
                 [booking for booking in confirmed if booking.ends_at <= now])


def sign_in_choices(db: Database) -> list[TherapistChoice]:
    with db.reader() as session:
        rows = session.execute(select(Therapist.id, Therapist.name, Therapist.email)
                               .order_by(Therapist.id).limit(MAX_SIGN_IN_CHOICES)).all()
    return [TherapistChoice(*row) for row in rows]


def dev_sign_in(db: Database, settings: PortalSettings, therapist_id: int) -> sessions.Started:
    """Development sign-in as a therapist (PORTAL_DEV_LOGIN, checked by the caller): a portal
    session like the one an email link opens, marked "dev"."""
    with db.transaction() as session:
        therapist = session.get(Therapist, therapist_id)
        if therapist is None:
            raise NotFound("No therapist with that id.")
        return sessions.start(session, settings, Account(Kind.THERAPIST, therapist.email,
                                                         therapist_id=therapist.id), "dev")
