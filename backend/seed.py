"""Demo data: one organisation with an admin and a few members, and a therapist directory.

Every demo person chats through the development channel, whose sender id is trusted as the
identity `dev:<sender>` (development mode only; see README).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update

from backend import demo_directory
from backend.db import Database
from backend.domain import invite_codes
from backend.domain.enums import Access, BookingStatus, Coverage, Modality, Role
from backend.models import (
    Authorisation,
    Booking,
    ChatIdentity,
    Invite,
    Member,
    Organisation,
    Therapist,
)
from backend.models.base import utcnow
from backend.services import actors, grants

DEMO_ORGANISATION = "Northwind Trading"
DEMO_DOMAIN = "northwind.example"
# A fixed code so that the printed instructions always work; real invites are random.
DEMO_INVITE_CODE = "NWTR7-DEM01"
THERAPIST_SENDER = "dr-therapist"
THERAPIST_DOMAIN = "therapists.example"


@dataclass(frozen=True)
class DemoPerson:
    sender: str
    name: str
    role: Role
    story: str


DEMO_PEOPLE = [
    DemoPerson("alice", "Alice Morgan", Role.ADMIN,
               "HR admin: creates authorisations and invites, sees usage and spend."),
    DemoPerson("ben", "Ben Okafor", Role.MEMBER,
               "has redeemed an invite (7 sessions, first relationship): search and book."),
    DemoPerson("chloe", "Chloe Evans", Role.MEMBER,
               f"not on any offer yet: say \"redeem {DEMO_INVITE_CODE}\"."),
    DemoPerson("dan", "Dan Kowalski", Role.MEMBER,
               "has seen a therapist before: the existing-relationship offer is open to all."),
]


def seed_demo(db: Database, *, therapists: int = 300,
              echo: Callable[[str], None] = print) -> None:
    with db.reader() as session:
        have_directory = (session.scalar(select(func.count(Therapist.id))) or 0) > 0
        have_demo = session.scalar(
            select(Organisation.id).where(Organisation.name == DEMO_ORGANISATION)) is not None
    if have_directory:
        echo("Therapist directory already loaded; leaving it as it is.")
    else:
        echo(f"Loading a demo directory of {therapists} therapists ...")
        demo_directory.populate(db, therapists, progress=True)
    _give_therapists_identities(db)
    if have_demo:
        echo(f"Demo organisation '{DEMO_ORGANISATION}' already exists; leaving it as it is.")
        return
    echo(f"Creating demo organisation '{DEMO_ORGANISATION}' and its people ...")
    _create_demo_organisation(db)
    echo("Demo data ready.")


def therapist_email(therapist_id: int) -> str:
    return f"therapist-{therapist_id}@{THERAPIST_DOMAIN}"


def _give_therapists_identities(db: Database) -> None:
    """Every demo therapist gets an email (the inbox's sign-in) and the development chat
    identity dev:therapist-<id>, so each can answer bookings. Those who have them keep them."""
    with db.transaction() as session:
        without = session.scalars(select(Therapist.id).where(Therapist.email.is_(None))).all()
        for therapist_id in without:
            session.execute(update(Therapist).where(Therapist.id == therapist_id)
                            .values(email=therapist_email(therapist_id)))
            sender = f"therapist-{therapist_id}"
            if session.scalar(select(ChatIdentity.id).where(
                    ChatIdentity.channel == "dev", ChatIdentity.external_id == sender)) is None:
                session.add(ChatIdentity(channel="dev", external_id=sender,
                                         therapist_id=therapist_id))


def _create_demo_organisation(db: Database) -> None:
    with db.transaction() as session:
        organisation = Organisation(name=DEMO_ORGANISATION, email_domain=DEMO_DOMAIN)
        session.add(organisation)
        session.flush()
        people = {}
        for person in DEMO_PEOPLE:
            member = Member(organisation_id=organisation.id, name=person.name, role=person.role,
                            email=f"{person.sender}@{DEMO_DOMAIN}")
            session.add(member)
            session.flush()
            session.add(ChatIdentity(channel="dev", external_id=person.sender,
                                     member_id=member.id))
            people[person.sender] = member
        first_therapist = session.scalars(select(Therapist).order_by(Therapist.id).limit(1)).one()
        session.add(ChatIdentity(channel="dev", external_id=THERAPIST_SENDER,
                                 therapist_id=first_therapist.id))
        first = Authorisation(
            organisation_id=organisation.id, name="Wellbeing support: 7 sessions for 5 people",
            coverage=Coverage.FIRST_RELATIONSHIP, sessions_per_user=7, user_limit=5,
            access=Access.INVITE_ONLY, created_by_member_id=people["alice"].id)
        existing = Authorisation(
            organisation_id=organisation.id, name="Continue with your therapist: 4 sessions",
            coverage=Coverage.EXISTING_RELATIONSHIP, sessions_per_user=4, user_limit=None,
            access=Access.ALL_MEMBERS, created_by_member_id=people["alice"].id)
        session.add_all([first, existing])
        session.flush()
        # Dan saw the first therapist last month, paying himself.
        past = (utcnow() - timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
        session.add(Booking(member_id=people["dan"].id, therapist_id=first_therapist.id,
                            starts_at=past, ends_at=past + timedelta(minutes=50),
                            modality=Modality.VIDEO, status=BookingStatus.COMPLETED))
        canonical = invite_codes.canonical(DEMO_INVITE_CODE)
        session.add(Invite(organisation_id=organisation.id, authorisation_id=first.id,
                           code_hash=invite_codes.code_hash(canonical),
                           code_hint=canonical[-4:], email=f"chloe@{DEMO_DOMAIN}",
                           expires_at=utcnow() + timedelta(days=365),
                           created_by_member_id=people["alice"].id))
        alice = actors.Actor("dev", "alice", member_id=people["alice"].id,
                             organisation_id=organisation.id, role=Role.ADMIN)
        grants.take_place(session, alice, first, people["ben"].id)


def describe_demo_identities(rasa_url: str = "http://localhost:5005") -> str:
    lines = [
        f"Demo organisation: {DEMO_ORGANISATION}. In development mode the dev_rest channel",
        "trusts the sender id as the identity dev:<sender>; real channels verify who speaks.",
        "",
    ]
    for person in DEMO_PEOPLE:
        lines.append(f"  {person.sender:<13} {person.name} ({person.role.value}): {person.story}")
    lines += [
        f"  {THERAPIST_SENDER:<13} the first therapist of the directory; confirms a booking over "
        "the API:",
        "                curl -s -X POST http://127.0.0.1:8000/therapist/bookings/<id>/confirm \\",
        "                  -H \"Authorization: Bearer $BACKEND_SERVICE_TOKEN\" "
        f"-H 'X-Acting-For: dev:{THERAPIST_SENDER}'",
        "                (make run's token: `. data/dev-secrets.env` first)",
        "  therapist-<id> each therapist of the directory (dev:therapist-<id>), the same way",
        "",
        "Therapist inbox:       http://127.0.0.1:8000/inbox (sign in as any therapist: confirm, "
        "decline, complete)",
        "Chat in the terminal:  make chat AS=ben",
        "Chat on the website:   http://127.0.0.1:8000/portal (sign in as a demo person)",
        "Chat over HTTP:        curl -s -X POST "
        f"{rasa_url}/webhooks/dev_rest/webhook \\",
        "                         -H 'Content-Type: application/json' "
        "-d '{\"sender\": \"ben\", \"message\": \"I want to book a session\"}'",
    ]
    return "\n".join(lines)
