"""A member's ask for more sessions (both databases): the admins are told once a month per
person, in words that never say who, and nothing stored ties the ask to the person."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from backend.domain.enums import Role
from backend.domain.errors import Conflict, PermissionDenied
from backend.models import AuditEvent, Member, Notification
from backend.models.base import utcnow
from backend.services import actors, authorisations, invites, more_sessions
from tests.backend import factories
from tests.backend.concurrently import all_at_once

SECRET = "more-sessions-test-secret"
DECEMBER = datetime(2026, 12, 3, 10, tzinfo=timezone.utc)
JANUARY = datetime(2027, 1, 2, 10, tzinfo=timezone.utc)


def told(db) -> list[tuple[int, str, str]]:
    with db.reader() as session:
        return [(n.member_id, n.kind, n.text) for n in session.scalars(
            select(Notification).order_by(Notification.id))]


def test_every_admin_is_told_that_someone_asked_never_who(db):
    admin = factories.register_organisation(db, "Northwind")
    second_admin = factories.add_member(db, admin.organisation_id, role=Role.ADMIN)
    member = factories.add_member(db, admin.organisation_id, email="ben@northwind.example")
    with db.reader() as session:
        name = session.get(Member, member.member_id).name

    asked = more_sessions.ask(db, member, SECRET, DECEMBER)

    assert asked.admins_told and "never told who" in asked.message
    notes = told(db)
    assert sorted(member_id for member_id, _, _ in notes) == sorted(
        [admin.member_id, second_admin.member_id])
    for _, kind, text in notes:
        assert kind == more_sessions.KIND and text.startswith("Someone in your organisation")
        assert name not in text and "ben@" not in text
    with db.reader() as session:
        keys = session.scalars(select(Notification.dedupe_key)).all()
        events = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "more_sessions.requested")).all()
    # The keys are a keyed hash (without the secret, nobody can tell whose); the audit event
    # names nobody.
    key = more_sessions._dedupe_key(SECRET, member.member_id, "2026-12")
    assert all(stored.startswith(key + "-admin-") for stored in keys)
    assert key != more_sessions._dedupe_key("another secret", member.member_id, "2026-12")
    assert [event.actor for event in events] == ["identity:anonymous:member"]


def test_asking_again_in_the_month_tells_nobody_again_and_next_month_does(db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    other = factories.add_member(db, admin.organisation_id)
    more_sessions.ask(db, member, SECRET, DECEMBER)

    again = more_sessions.ask(db, member, SECRET, DECEMBER.replace(day=28))
    someone_else = more_sessions.ask(db, other, SECRET, DECEMBER.replace(day=28))
    next_month = more_sessions.ask(db, member, SECRET, JANUARY)

    assert not again.admins_told and "asked already this month" in again.message
    assert someone_else.admins_told and next_month.admins_told
    assert len(told(db)) == 3


def test_two_asks_at_once_tell_the_admins_once(db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    answers = all_at_once([lambda: more_sessions.ask(db, member, SECRET, DECEMBER)] * 2)
    assert sorted(answer.admins_told for answer in answers) == [False, True]
    assert len(told(db)) == 1


def test_only_members_ask(db):
    with pytest.raises(PermissionDenied):
        more_sessions.ask(db, factories.stranger(db), SECRET, DECEMBER)
    assert told(db) == []


def test_an_organisation_without_an_admin_says_so(db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    with db.transaction() as session:
        session.execute(update(Member).where(Member.id == admin.member_id)
                        .values(role=Role.MEMBER))
    with pytest.raises(Conflict) as refused:
        more_sessions.ask(db, member, SECRET, DECEMBER)
    assert refused.value.code == "no_admin"


def pushed_buttons(db) -> list[list[dict[str, str]] | None]:
    with db.reader() as session:
        return [n.buttons for n in session.scalars(select(Notification).order_by(Notification.id))]


def test_the_push_offers_every_active_authorisation_whoever_asked(db):
    admin = factories.register_organisation(db)
    wellbeing = factories.authorisation(db, admin, name="Wellbeing")
    pilot = factories.authorisation(db, admin, name="Pilot")
    paused = factories.authorisation(db, admin, name="Old")
    authorisations.change_status(db, admin, paused.id, "pause")
    on_wellbeing, on_pilot = (factories.stranger(db), factories.stranger(db))
    for person, item in ((on_wellbeing, wellbeing), (on_pilot, pilot)):
        invites.redeem(db, person, invites.create(db, admin, item.id).code)
    for person in (on_wellbeing, on_pilot):
        more_sessions.ask(db, actors.resolve(db, person.identity), SECRET, DECEMBER)

    first, second = pushed_buttons(db)
    # The same buttons for both asks: nothing tells which authorisation the person is on.
    assert first == second == [
        {"title": f"Top up {item.name}",
         "payload": f'/top_up_authorisation{{"top_up_authorisation_id": "{item.id}"}}'}
        for item in (wellbeing, pilot)]


def test_admins_count_this_months_requests_and_members_cannot(db):
    # The notifications are dated by the clock, so the months here are the clock's.
    now = utcnow()
    next_month = (now.replace(day=28) + timedelta(days=4)).replace(day=1)
    admin = factories.register_organisation(db)
    first, second = (factories.add_member(db, admin.organisation_id) for _ in range(2))
    assert more_sessions.requests(db, admin, now).this_month == 0
    more_sessions.ask(db, first, SECRET, now)
    more_sessions.ask(db, first, SECRET, now)  # told once a month
    more_sessions.ask(db, second, SECRET, now)
    assert more_sessions.requests(db, admin, now).this_month == 2
    assert more_sessions.requests(db, admin, next_month).this_month == 0
    with pytest.raises(PermissionDenied):
        more_sessions.requests(db, first, now)
