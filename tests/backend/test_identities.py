"""Slack/Teams identities resolved to members: workspace mapping, email, domain auto-join."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend.api.app import create_app
from backend.domain.enums import Role
from backend.domain.errors import Conflict, InvalidInput, PermissionDenied
from backend.models import AuditEvent, ChatIdentity, Member, Organisation
from backend.services import actors, identities, invites, organisations
from backend.settings import Settings
from contracts import identity as identity_format
from tests.backend import factories
from tests.backend.api.conftest import SERVICE_TOKEN, ApiClient, connect
from tests.backend.concurrently import all_at_once
from tests.backend.factories import add_member, register_organisation


@pytest.fixture
async def api(aiohttp_client, db) -> ApiClient:
    settings = Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN)
    return await connect(aiohttp_client, create_app(db, settings))


def _organisation(db, *, domain: str | None = "acme.example", slack: str | None = "T1",
                  teams: str | None = None) -> actors.Actor:
    admin = register_organisation(db)
    with db.transaction() as session:
        organisation = session.get(Organisation, admin.organisation_id)
        organisation.email_domain = domain
        organisation.slack_team_id = slack
        organisation.teams_tenant_id = teams
    return admin


def _verify(db, identity: str, email: str | None = None, name: str | None = None):
    return identities.verify(db, actors.resolve(db, identity), email=email, name=name)


def test_acting_identities_are_read_in_the_format_of_the_contract():
    assert actors.parse_identity(" Slack:T1:U2 ") == identity_format.slack("T1", "U2")
    for malformed in ("no-channel-here", ":U2", "slack:", "slack:" + "x" * 200):
        with pytest.raises(InvalidInput, match="must look like 'channel:id'"):
            actors.parse_identity(malformed)


def test_known_email_links_the_slack_identity_to_the_member(db):
    admin = _organisation(db)
    member = add_member(db, admin.organisation_id, email="Ann@Elsewhere.example")
    view = _verify(db, "slack:T1:U1", email="ann@elsewhere.example")
    assert (view.status, view.member_id, view.organisation_id, view.role) == (
        identities.LINKED, member.member_id, admin.organisation_id, Role.MEMBER)
    resolved = actors.resolve(db, "slack:T1:U1")
    assert resolved.member_id == member.member_id
    # Later messages: already linked, whatever email the channel reports now.
    again = _verify(db, "slack:T1:U1", email=None)
    assert (again.status, again.member_id) == (identities.LINKED, member.member_id)


def test_admins_keep_their_role(db):
    admin = _organisation(db, teams="tenant-a")
    with db.reader() as session:
        email = session.get(Member, admin.member_id).email
    view = _verify(db, "teams:tenant-a:aad-1", email=email)
    assert (view.status, view.member_id, view.role) == (identities.LINKED, admin.member_id,
                                                         Role.ADMIN)


def test_email_in_the_organisation_domain_joins_as_member(db):
    admin = _organisation(db)
    view = _verify(db, "slack:T1:U2", email="new.person@acme.example", name="New Person")
    assert view.status == identities.JOINED and view.role is Role.MEMBER
    with db.reader() as session:
        member = session.get(Member, view.member_id)
        actions = session.scalars(select(AuditEvent.action)
                                  .where(AuditEvent.subject_id == member.id)).all()
    assert (member.organisation_id, member.email, member.name) == (
        admin.organisation_id, "new.person@acme.example", "New Person")
    assert "identity.joined" in actions
    assert _verify(db, "slack:T1:U2", email="new.person@acme.example").status == identities.LINKED


def test_email_outside_the_domain_is_not_a_member(db):
    _organisation(db)
    view = _verify(db, "slack:T1:U3", email="someone@gmail.example")
    assert view.status == identities.NOT_MEMBER and view.member_id is None
    assert "invite code" in view.message
    assert actors.resolve(db, "slack:T1:U3").member_id is None


def test_no_email_or_no_domain_means_no_automatic_membership(db):
    _organisation(db, domain=None)
    assert _verify(db, "slack:T1:U4", email="x@acme.example").status == identities.NOT_MEMBER
    assert _verify(db, "slack:T1:U5").status == identities.NOT_MEMBER


def test_unknown_workspace_is_explained_and_links_nothing(db):
    admin = _organisation(db)
    with db.reader() as session:
        email = session.get(Member, admin.member_id).email
    view = _verify(db, "slack:T-other:U1", email=email)
    assert view.status == identities.UNKNOWN_WORKSPACE and view.member_id is None
    assert "isn't connected" in view.message
    # The same workspace id in the other channel does not count either.
    assert _verify(db, "teams:T1:U1", email=email).status == identities.UNKNOWN_WORKSPACE
    with db.reader() as session:
        assert session.scalar(select(func.count(ChatIdentity.id))
                              .where(ChatIdentity.channel.in_(["slack", "teams"]))) == 0


@pytest.mark.parametrize("identity", ["dev:alice", "slack:T1", "slack::U1", "web:T1:U1"])
def test_identities_without_a_workspace_are_refused(db, identity):
    with pytest.raises(InvalidInput):
        _verify(db, identity, email="a@acme.example")


async def test_bad_email_is_refused_and_an_email_is_read_in_lower_case(api, db):
    _organisation(db)
    status, body = await api.request("POST", "/identities/verify", identity="slack:T1:U1",
                                     json={"email": "not an email"})
    assert (status, body["error"]["message"]) == (400, "That doesn't look like an email address.")
    status, body = await api.request("POST", "/identities/verify", identity="slack:T1:U2",
                                     json={"email": " New.Person@ACME.example", "name": " N "})
    assert (status, body["status"]) == (200, "joined")
    with db.reader() as session:
        member = session.get(Member, body["member_id"])
        assert (member.email, member.name) == ("new.person@acme.example", "N")


def test_concurrent_first_messages_create_one_member_and_one_link(db):
    _organisation(db)
    results = all_at_once([lambda: _verify(db, "slack:T1:U9", email="racer@acme.example")] * 6)
    assert len({view.member_id for view in results}) == 1
    with db.reader() as session:
        assert session.scalar(select(func.count(Member.id))
                              .where(Member.email == "racer@acme.example")) == 1
        assert session.scalar(select(func.count(ChatIdentity.id))
                              .where(ChatIdentity.external_id == "T1:U9")) == 1


def test_admin_connects_the_workspace_they_speak_from(db):
    slack_admin = organisations.register(
        db, actors.resolve(db, "slack:T7:U1"), name="Beta", admin_name="Bea",
        admin_email="bea@beta.example", email_domain="beta.example")
    view = identities.connect_workspace(db, slack_admin)
    assert (view.organisation_id, view.channel, view.workspace_id) == (
        slack_admin.organisation_id, "slack", "T7")
    assert _verify(db, "slack:T7:U2", email="colleague@beta.example").status == identities.JOINED
    # Another organisation cannot take it over, and members cannot connect anything.
    other = organisations.register(
        db, actors.resolve(db, "slack:T7:U3"), name="Gamma", admin_name="Gil",
        admin_email="gil@gamma.example")
    with pytest.raises(Conflict):
        identities.connect_workspace(db, other)
    member = actors.resolve(db, "slack:T7:U2")
    with pytest.raises(PermissionDenied):
        identities.connect_workspace(db, member)


async def test_verify_route(api, db):
    _organisation(db, teams="tenant-z")
    status, body = await api.request("POST", "/identities/verify", identity="teams:tenant-z:o1",
                                     json={"email": "zed@acme.example", "name": "Zed"})
    assert status == 200
    assert body["status"] == "joined" and body["role"] == "member"
    assert body["identity"] == "teams:tenant-z:o1"
    status, body = await api.request("POST", "/identities/verify", identity="teams:nope:o1",
                                     json={})
    assert (status, body["status"], body["member_id"]) == (200, "unknown_workspace", None)
    status, body = await api.request("POST", "/identities/verify", identity="dev:bob", json={})
    assert status == 400 and body["error"]["code"]
    status, _ = await api.request("POST", "/identities/verify", identity="teams:tenant-z:o1",
                                  token="wrong")
    assert status == 401


# --- redeeming with a verified email: linking only within the organisation ----------------

ADMIN_EMAIL = "boss@acme.example"


def _org_with_slack_admin(db, workspace: str | None = "TA") -> tuple[actors.Actor, int]:
    """Acme, whose admin speaks from Slack workspace `workspace` (connected unless None), and
    an authorisation with an open invite nobody is named on: (admin, invite code)."""
    admin = organisations.register(
        db, actors.resolve(db, f"slack:{workspace or 'TX'}:U1"), name="Acme",
        admin_name="Boss", admin_email=ADMIN_EMAIL)
    if workspace:
        identities.connect_workspace(db, admin)
    offer = factories.authorisation(db, admin, sessions_per_user=3)
    return admin, offer.id


def _member_of(db, identity: str) -> int | None:
    return actors.resolve(db, identity).member_id


@pytest.mark.parametrize("connected", ["TA", None])
def test_an_identity_from_another_workspace_cannot_take_over_the_admin(db, connected):
    admin, offer_id = _org_with_slack_admin(db, connected)
    code = invites.create(db, admin, offer_id).code
    attacker = actors.resolve(db, "slack:TB:U666", ADMIN_EMAIL)  # B verified "her" email
    with pytest.raises(Conflict, match="isn't in Acme's connected workspace") as refused:
        invites.redeem(db, attacker, code)
    assert refused.value.code == "identity_outside_organisation"
    assert _member_of(db, "slack:TB:U666") is None
    # Nothing changed: the code still works for the person it was given to.
    assert [view.state for view in invites.list_for_admin(db, admin, offer_id)] == ["open"]
    newcomer = actors.resolve(db, "slack:TB:U7", "new@elsewhere.example")
    assert invites.redeem(db, newcomer, code).actor.role is Role.MEMBER


async def test_the_takeover_attempt_gets_a_clear_answer_over_http(api, db):
    admin, offer_id = _org_with_slack_admin(db)
    code = invites.create(db, admin, offer_id).code
    status, body = await api.request("POST", "/invites/redeem", identity="teams:tenant-b:o1",
                                     email=ADMIN_EMAIL, json={"code": code})
    assert status == 409
    assert body["error"]["code"] == "identity_outside_organisation"
    assert "ask your admin for an invite sent to your email address" in body["error"]["message"]
    status, body = await api.request("GET", "/me", identity="teams:tenant-b:o1",
                                     email=ADMIN_EMAIL)
    assert status == 200 and (body["member_id"], body["role"]) == (None, None)
    assert _member_of(db, "teams:tenant-b:o1") is None


def test_the_organisations_own_workspace_links_to_the_member_with_that_email(db):
    admin, offer_id = _org_with_slack_admin(db)
    colleague = organisations.add_admin(db, admin, name="Cleo", email="cleo@acme.example")
    code = invites.create(db, admin, offer_id).code
    cleo = actors.resolve(db, "slack:TA:U2", "Cleo@acme.example")
    redemption = invites.redeem(db, cleo, code)
    assert redemption.actor.member_id == colleague
    assert redemption.actor.role is Role.ADMIN


def test_an_invite_addressed_to_the_email_links_from_any_workspace(db):
    admin, offer_id = _org_with_slack_admin(db)
    colleague = organisations.add_admin(db, admin, name="Cleo", email="cleo@acme.example")
    code = invites.create(db, admin, offer_id, email="cleo@acme.example").code
    cleo = actors.resolve(db, "teams:tenant-c:o2", "cleo@acme.example")
    assert invites.redeem(db, cleo, code).actor.member_id == colleague
