"""Authorisations, invites and grants through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.api.app import create_app
from backend.domain import invite_codes
from backend.domain.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooManyAttempts,
)
from backend.models import AuditEvent, Grant, Invite
from backend.services import authorisations, grants, invites
from backend.services.policy import Policy
from backend.settings import Settings
from tests.backend import factories


def test_admin_creates_authorisation_and_sees_it_listed(db):
    admin = factories.register_organisation(db)
    created = factories.authorisation(db, admin, sessions_per_user=7, user_limit=None)
    assert created.user_limit is None and created.places_left is None
    listed = authorisations.list_for_admin(db, admin)
    assert [a.id for a in listed] == [created.id]
    assert listed[0].usage.places_taken == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sessions_per_user": 0}, "between 1 and 100"),
        ({"sessions_per_user": 101}, "between 1 and 100"),
        ({"sessions_per_user": None}, "Please give the number of sessions per user"),
        ({"user_limit": -1}, "number of users must be between"),
    ],
)
def test_bad_authorisation_input_is_refused_and_changes_nothing(db, fields, message):
    admin = factories.register_organisation(db)
    with pytest.raises(InvalidInput, match=message):
        factories.authorisation(db, admin, **fields)
    assert authorisations.list_for_admin(db, admin) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sessions_per_user": "seven"}, "number of sessions per user must be a whole number"),
        ({"sessions_per_user": True}, "number of sessions per user must be a whole number"),
        ({"coverage": "everyone"}, "coverage must be one of"),
        ({"coverage": None}, "Please give the coverage"),
        ({"access": "public"}, "access must be one of"),
        ({"name": "x" * 201}, "name is too long (at most 200 characters)"),
    ],
)
async def test_wrong_types_are_a_400_at_the_edge(aiohttp_client, db, fields, message):
    admin = factories.register_organisation(db)
    client = await aiohttp_client(create_app(db, Settings(BACKEND_SERVICE_TOKEN="t")))
    body = {"coverage": "first_relationship", "sessions_per_user": 7, "user_limit": 5, **fields}
    response = await client.post("/authorisations", json=body, headers={
        "Authorization": "Bearer t", "X-Acting-For": admin.identity})
    assert response.status == 400
    assert message in (await response.json())["error"]["message"]
    assert authorisations.list_for_admin(db, admin) == []


def test_members_and_other_organisations_cannot_touch_authorisations(db):
    admin = factories.register_organisation(db, "Acme")
    other_admin = factories.register_organisation(db, "Globex")
    offer = factories.authorisation(db, admin)
    member = factories.add_member(db, admin.organisation_id)
    with pytest.raises(PermissionDenied):
        factories.authorisation(db, member)
    with pytest.raises(PermissionDenied):
        authorisations.list_for_admin(db, member)
    with pytest.raises(NotFound):
        authorisations.get(db, other_admin, offer.id)
    with pytest.raises(NotFound):
        authorisations.change_status(db, other_admin, offer.id, "revoke")
    with pytest.raises(NotFound):
        invites.create(db, other_admin, offer.id)
    assert authorisations.get(db, admin, offer.id).status.value == "active"


def test_invite_codes_have_enough_entropy_and_are_typed_forgivingly():
    code = invite_codes.new_code()
    canonical = invite_codes.normalise(code)
    assert len(canonical) * 5 >= 40
    assert not set(canonical) & set("ILOU")
    typed = f"  {code.lower().replace('-', ' ')} "
    assert invite_codes.normalise(typed) == canonical
    # look-alikes are read as the digits they resemble
    assert invite_codes.normalise("oooooiiiil") == "0000011111"
    assert invite_codes.normalise("short") is None


def test_new_codes_always_have_a_digit_so_they_never_read_as_words():
    codes = [invite_codes.normalise(invite_codes.new_code()) for _ in range(2000)]
    assert all(any(ch.isdigit() for ch in code) for code in codes)
    assert len(set(codes)) == len(codes)


def test_redeeming_an_invite_creates_a_grant_and_links_the_identity(db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, sessions_per_user=7)
    invite = invites.create(db, admin, offer.id)
    assert invite.code in invite.email_text and "7 therapy sessions" in invite.email_text
    newcomer = factories.stranger(db)
    redemption = invites.redeem(db, newcomer, invite.code.lower().replace("-", " "))
    assert redemption.grant.sessions_remaining == 7
    assert redemption.actor.organisation_id == admin.organisation_id
    again = factories.actors.resolve(db, newcomer.identity)
    assert again.member_id == redemption.actor.member_id
    assert [g.id for g in grants.list_mine(db, again)] == [redemption.grant.id]
    with pytest.raises(Conflict):
        invites.redeem(db, factories.stranger(db), invite.code)


def test_revoked_expired_and_email_bound_invites_are_refused(db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin)
    revoked = invites.create(db, admin, offer.id)
    invites.revoke(db, admin, revoked.id)
    with pytest.raises(Conflict, match="revoked"):
        invites.redeem(db, factories.stranger(db), revoked.code)

    expired = invites.create(db, admin, offer.id)
    with db.transaction() as session:
        row = session.get(Invite, expired.id)
        row.expires_at = row.created_at - timedelta(minutes=1)
    with pytest.raises(Conflict, match="expired"):
        invites.redeem(db, factories.stranger(db), expired.code)

    bound = invites.create(db, admin, offer.id, email="alex@acme.example")
    with pytest.raises(Conflict, match="different email"):
        invites.redeem(db, factories.stranger(db), bound.code)
    alex = factories.actors.resolve(db, factories.new_identity(), "Alex@Acme.example")
    assert invites.redeem(db, alex, bound.code).grant.sessions_remaining == 7
    with db.reader() as session:
        assert session.scalar(select(func.count(Grant.id))) == 1


def test_wrong_codes_are_throttled_per_identity(db, monkeypatch):
    monkeypatch.setenv("REDEEM_ATTEMPTS_LIMIT", "3")
    policy = Policy.from_settings(Settings())
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin)
    invite = invites.create(db, admin, offer.id)
    guesser = factories.stranger(db)
    for _ in range(3):
        with pytest.raises(NotFound):
            invites.redeem(db, guesser, "AAAAA-AAAAA", policy=policy)
    with pytest.raises(TooManyAttempts):
        invites.redeem(db, guesser, invite.code, policy=policy)  # even the right code waits now
    assert invites.redeem(db, factories.stranger(db), invite.code, policy=policy).grant


def test_user_limit_is_enforced(db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, user_limit=2)
    factories.member_with_grant(db, admin, offer.id)
    factories.member_with_grant(db, admin, offer.id)
    with pytest.raises(Conflict, match="places"):
        factories.member_with_grant(db, admin, offer.id)
    assert authorisations.get(db, admin, offer.id).usage.places_taken == 2


def test_paused_authorisation_takes_no_new_places_until_resumed(db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin)
    invite = invites.create(db, admin, offer.id)
    authorisations.change_status(db, admin, offer.id, "pause")
    with pytest.raises(Conflict, match="paused"):
        invites.redeem(db, factories.stranger(db), invite.code)
    authorisations.change_status(db, admin, offer.id, "resume")
    assert invites.redeem(db, factories.stranger(db), invite.code).grant


def test_all_members_offers_are_joined_without_invites(db):
    admin = factories.register_organisation(db)
    open_offer = factories.authorisation(db, admin, access="all_members")
    invite_only = factories.authorisation(db, admin)
    member = factories.add_member(db, admin.organisation_id)
    assert [o.authorisation_id for o in grants.open_offers(db, member)] == [open_offer.id]
    grants.join(db, member, open_offer.id)
    assert grants.open_offers(db, member) == []
    with pytest.raises(Conflict, match="already"):
        grants.join(db, member, open_offer.id)
    with pytest.raises(Conflict, match="invite only"):
        grants.join(db, member, invite_only.id)


def test_offers_a_member_cannot_take_are_not_offered(db):
    admin = factories.register_organisation(db)
    existing = factories.authorisation(db, admin, access="all_members",
                                       coverage="existing_relationship")
    member = factories.add_member(db, admin.organisation_id)  # has never seen a therapist
    assert grants.open_offers(db, member) == []
    with pytest.raises(Conflict, match="already seen a therapist"):
        grants.join(db, member, existing.id)


def test_usage_figures_are_withheld_until_enough_people_booked_not_took_places(db):
    # Figures about bookings: tests/backend/test_confidentiality.py.
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, user_limit=None)
    for _ in range(5):
        factories.member_with_grant(db, admin, offer.id)
    [usage] = [view.usage for view in authorisations.list_for_admin(db, admin)]
    assert usage.places_taken == 5 and usage.sessions_booked is None
    assert usage.spend_minor is None and "at least 5 people" in usage.withheld_reason


def test_every_state_change_is_audited(db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin)
    factories.member_with_grant(db, admin, offer.id)
    authorisations.change_status(db, admin, offer.id, "pause")
    with db.reader() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == [
        "organisation.registered",
        "authorisation.created",
        "invite.created",
        "grant.created",
        "invite.redeemed",
        "authorisation.paused",
    ]
