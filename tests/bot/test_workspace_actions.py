"""An admin, from inside Slack or Teams, connects that workspace and sets the work email domain
(bot/actions/workspace.py), against the real backend over HTTP (tests/bot/conftest.py); then a
colleague of the workspace with a verified address at the domain is a member without an invite.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from backend.models import Organisation
from backend.services import actors, identities, organisations
from bot.actions.organisations import ActionRegisterOrganisation
from bot.actions.parsing import find_email_domain
from bot.actions.workspace import (
    ActionAskEmailDomainConfirmed,
    ActionConnectWorkspace,
    ActionSetEmailDomain,
    ValidateEmailDomainForm,
    from_inside,
)
from tests.backend import factories
from tests.bot.conftest import make_tracker, payloads, run, slot_events, texts


def slack_admin(db, workspace: str, email: str = "hr@acme.example") -> str:
    """A Slack identity of a new organisation's first admin; their verified email is `email`."""
    identity = f"slack:{workspace}:U{uuid.uuid4().hex[:8].upper()}"
    organisations.register(db, actors.resolve(db, identity), name="Acme Ltd",
                           admin_name="Hana", admin_email=email)
    return identity


def said_by(identity: str, text: str, email: str | None = "hr@acme.example", **kwargs):
    return make_tracker(identity, text=text,
                        extra_metadata={"verified_email": email} if email else None, **kwargs)


def workspace_of_organisation(db, identity: str) -> str | None:
    organisation_id = actors.resolve(db, identity).organisation_id
    with db.transaction() as session:
        return session.scalar(select(Organisation.slack_team_id)
                              .where(Organisation.id == organisation_id))


def test_the_domain_is_read_from_what_people_write():
    assert find_email_domain("set our email domain to Acme.co.uk") == "acme.co.uk"
    assert find_email_domain("@northwind.example") == "northwind.example"
    assert find_email_domain("like jo@globex.io") == "globex.io"
    assert find_email_domain("our company") is None


async def test_an_admin_connects_the_workspace_and_is_offered_their_own_domain(backend):
    team = f"T{uuid.uuid4().hex[:8].upper()}"
    admin = slack_admin(backend, team)
    dispatcher, _ = await run(ActionConnectWorkspace(),
                              said_by(admin, "connect this workspace"))
    assert texts(dispatcher).startswith("Done: this Slack workspace is connected to Acme Ltd.")
    assert payloads(dispatcher) == ['/set_email_domain{"email_domain": "acme.example"}']
    assert workspace_of_organisation(backend, admin) == team


async def test_a_workspace_of_another_organisation_is_refused_and_nothing_changes(backend):
    team = f"T{uuid.uuid4().hex[:8].upper()}"
    first = slack_admin(backend, team)
    await run(ActionConnectWorkspace(), said_by(first, "connect this workspace"))
    second = slack_admin(backend, team)  # another organisation's admin in the same workspace
    dispatcher, _ = await run(ActionConnectWorkspace(), said_by(second, "connect slack"))
    assert texts(dispatcher) == ("This Slack workspace is already connected to another "
                                 "organisation.")
    assert workspace_of_organisation(backend, first) == team
    assert workspace_of_organisation(backend, second) is None


async def test_the_web_chat_cannot_connect_and_says_where_to(backend):
    admin = factories.register_organisation(backend)  # speaks from the test channel, as the web
    dispatcher, _ = await run(ActionConnectWorkspace(), said_by(admin.identity, "connect"))
    assert texts(dispatcher) == from_inside("connect this workspace")


async def test_the_domain_is_confirmed_then_set_and_a_colleague_joins_by_it(backend):
    team = f"T{uuid.uuid4().hex[:8].upper()}"
    admin = slack_admin(backend, team)
    await run(ActionConnectWorkspace(), said_by(admin, "connect this workspace"))

    dispatcher, events = await run(ValidateEmailDomainForm(), said_by(
        admin, '/set_email_domain{"email_domain":"acme.example"}', intent="set_email_domain",
        entities=[{"entity": "email_domain", "value": "acme.example"}],
        active_loop="email_domain_form"))
    assert slot_events(events)["email_domain"] == "acme.example"
    dispatcher, _ = await run(ActionAskEmailDomainConfirmed(), said_by(
        admin, "", slots={"email_domain": "acme.example"}))
    assert "verified address at @acme.example" in texts(dispatcher)
    assert payloads(dispatcher) == ["/affirm", "/deny"]

    dispatcher, events = await run(ActionSetEmailDomain(), said_by(
        admin, "yes", slots={"email_domain": "acme.example", "email_domain_confirmed": True}))
    assert texts(dispatcher).startswith("Done: your work email domain is now @acme.example.")
    assert slot_events(events)["email_domain"] is None
    assert organisations.describe(backend, actors.resolve(backend, admin)).email_domain \
        == "acme.example"

    colleague = f"slack:{team}:UCOLLEAGUE"
    joined = identities.verify(backend, actors.resolve(backend, colleague),
                               email="sam@acme.example", name="Sam")
    assert joined.status == identities.JOINED
    outsider = identities.verify(backend, actors.resolve(backend, f"slack:{team}:UOTHER"),
                                 email="kim@elsewhere.example", name="Kim")
    assert outsider.status == identities.NOT_MEMBER
    dispatcher, _ = await run(ActionConnectWorkspace(), said_by(colleague, "connect slack",
                                                                email="sam@acme.example"))
    assert texts(dispatcher).startswith("Only your organisation's admins can connect this "
                                        "Slack workspace")


async def test_a_typed_domain_is_read_a_no_changes_nothing_and_nonsense_is_asked_again(
        backend):
    team = f"T{uuid.uuid4().hex[:8].upper()}"
    admin = slack_admin(backend, team)
    _, events = await run(ValidateEmailDomainForm(), said_by(
        admin, "set our email domain to Northwind.example", intent="set_email_domain",
        active_loop="email_domain_form"))
    assert slot_events(events)["email_domain"] == "northwind.example"

    dispatcher, events = await run(ValidateEmailDomainForm(), said_by(
        admin, "our company", set_now={"email_domain": "our company"},
        active_loop="email_domain_form", slots={"requested_slot": "email_domain"}))
    assert slot_events(events)["email_domain"] is None
    assert "for example 'acme.co.uk'" in texts(dispatcher)

    dispatcher, _ = await run(ActionSetEmailDomain(), said_by(
        admin, "no", slots={"email_domain": "northwind.example",
                            "email_domain_confirmed": False}))
    assert texts(dispatcher) == "OK, I haven't changed anything."
    assert organisations.describe(backend, actors.resolve(backend, admin)).email_domain is None


async def test_a_domain_the_backend_refuses_is_explained_and_nothing_changes(backend):
    admin = slack_admin(backend, f"T{uuid.uuid4().hex[:8].upper()}")
    dispatcher, _ = await run(ActionSetEmailDomain(), said_by(
        admin, "yes", slots={"email_domain": "not a domain", "email_domain_confirmed": True}))
    assert texts(dispatcher) and "Done" not in texts(dispatcher)
    assert organisations.describe(backend, actors.resolve(backend, admin)).email_domain is None


async def test_the_web_chat_cannot_start_setting_the_domain(backend):
    admin = factories.register_organisation(backend)
    dispatcher, events = await run(ValidateEmailDomainForm(), said_by(
        admin.identity, "set our email domain", intent="set_email_domain",
        active_loop="email_domain_form"))
    assert texts(dispatcher) == from_inside("set our email domain")
    assert any(e["event"] == "active_loop" and e["name"] is None for e in events)


async def test_registering_from_slack_offers_to_connect_the_workspace(backend):
    identity = f"slack:T{uuid.uuid4().hex[:8].upper()}:UFOUNDER"
    dispatcher, _ = await run(ActionRegisterOrganisation(), said_by(
        identity, "hr@acme.example", slots={"organisation_name": "Acme Ltd",
                                            "admin_name": "Hana",
                                            "admin_email": "hr@acme.example"}))
    assert texts(dispatcher).startswith("Acme Ltd is registered, and you are its admin.")
    assert "/connect_workspace" in payloads(dispatcher)
    dispatcher, _ = await run(ActionRegisterOrganisation(), said_by(
        factories.new_identity(), "hr@other.example", slots={
            "organisation_name": "Other Ltd", "admin_name": "Ola",
            "admin_email": "hr@other.example"}))
    assert texts(dispatcher).startswith("Other Ltd is registered")
    assert "/connect_workspace" not in payloads(dispatcher)
