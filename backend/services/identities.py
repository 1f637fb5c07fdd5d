"""Who a verified chat user is: Slack team + user, or Teams tenant + AAD object id.

The channel has proven the identity (signed request) and, where the platform offers one, the
user's verified email. The workspace (Slack team / Teams tenant) says which organisation's
people this can be; the email says which of them. A verified email in the organisation's email
domain makes its owner a member automatically (access "all members", PRODUCT.md "Access").
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain.enums import Role
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.models import ChatIdentity, Member, Organisation
from backend.services import audit
from backend.services.actors import Actor, find_member_by_email, link_identity, require_admin
from contracts import identity as identity_format

# Channels whose identities are "<workspace>:<user>" and which column maps the workspace.
WORKSPACE_COLUMNS = {"slack": Organisation.slack_team_id, "teams": Organisation.teams_tenant_id}
WORKSPACE_WORDS = {"slack": "Slack workspace", "teams": "Microsoft Teams organisation"}

LINKED = "linked"            # a known member, admin or therapist
JOINED = "joined"            # became a member just now through the organisation's email domain
NOT_MEMBER = "not_member"    # the workspace belongs to an organisation, the person does not (yet)
UNKNOWN_WORKSPACE = "unknown_workspace"


@dataclass(frozen=True)
class IdentityView:
    identity: str
    status: str
    member_id: int | None = None
    organisation_id: int | None = None
    role: Role | None = None
    therapist_id: int | None = None
    # For the person, when they are not (yet) a member: what they can do.
    message: str | None = None


def workspace_of(actor: Actor) -> str:
    """The workspace part of a Slack/Teams identity ("T123" of "slack:T123:U456")."""
    if actor.channel not in WORKSPACE_COLUMNS:
        raise InvalidInput(f"Identities of the '{actor.channel}' channel have no workspace.")
    workspace, sep, user = actor.external_id.partition(identity_format.SEPARATOR)
    if not sep or not workspace or not user:
        raise InvalidInput(f"A {actor.channel} identity looks like '{actor.channel}:"
                           "<workspace>:<user>'.")
    return workspace


def speaks_from_workspace_of(organisation: Organisation, actor: Actor) -> bool:
    """Whether the actor's Slack workspace / Teams tenant is the one the organisation connected
    (False for channels without one)."""
    column = WORKSPACE_COLUMNS.get(actor.channel)
    if column is None:
        return False
    connected = getattr(organisation, column.key)
    return connected is not None and workspace_of(actor) == connected


def verify(db: Database, actor: Actor, *, email: str | None = None,
           name: str | None = None) -> IdentityView:
    """Link the speaker to their member record when the workspace and email allow it (both
    come checked from the API edge)."""
    workspace = workspace_of(actor)
    try:
        return _verify(db, actor, workspace, email, name)
    except IntegrityError:
        # A concurrent first message of the same person linked or created the same rows first.
        return _verify(db, actor, workspace, email, name)


def _verify(db: Database, actor: Actor, workspace: str, email: str | None,
            name: str | None) -> IdentityView:
    with db.transaction() as session:
        existing = _linked(session, actor)
        if existing is not None:
            return existing
        organisation = session.scalar(
            select(Organisation).where(WORKSPACE_COLUMNS[actor.channel] == workspace))
        place = WORKSPACE_WORDS[actor.channel]
        if organisation is None:
            return IdentityView(actor.identity, UNKNOWN_WORKSPACE, message=(
                f"This {place} isn't connected to an organisation here yet, so I can't tell "
                "which organisation you belong to. You can still ask me general questions, "
                "redeem an invite code, or register your organisation."))
        member = find_member_by_email(session, organisation.id, email) if email else None
        status = LINKED
        if member is None and email and _in_domain(email, organisation.email_domain):
            member = Member(organisation_id=organisation.id, role=Role.MEMBER, email=email,
                            name=name or email.split("@", 1)[0])
            session.add(member)
            session.flush()
            status = JOINED
        if member is None:
            return IdentityView(actor.identity, NOT_MEMBER, message=(
                f"I couldn't match your {place} account to a member of {organisation.name}. "
                "If you have an invite code, send it to me; otherwise ask your organisation's "
                "admin to add you. You can still ask me general questions."))
        linked = link_identity(session, actor, member)
        audit.record(session, linked, "identity.joined" if status == JOINED else "identity.linked",
                     "member", member.id, organisation_id=organisation.id,
                     channel=actor.channel)
        return IdentityView(actor.identity, status, member_id=member.id,
                            organisation_id=organisation.id, role=member.role)


def _linked(session: Session, actor: Actor) -> IdentityView | None:
    row = session.execute(
        select(ChatIdentity, Member)
        .outerjoin(Member, Member.id == ChatIdentity.member_id)
        .where(ChatIdentity.channel == actor.channel,
               ChatIdentity.external_id == actor.external_id)
    ).first()
    if row is None or (row[0].member_id is None and row[0].therapist_id is None):
        return None
    link, member = row
    return IdentityView(actor.identity, LINKED, member_id=link.member_id,
                        organisation_id=member.organisation_id if member else None,
                        role=member.role if member else None, therapist_id=link.therapist_id)


def _in_domain(email: str, domain: str | None) -> bool:
    if not domain:
        return False
    return email.rsplit("@", 1)[-1] == domain.lower()


@dataclass(frozen=True)
class WorkspaceView:
    organisation_id: int
    channel: str
    workspace_id: str


def connect_workspace(db: Database, actor: Actor) -> WorkspaceView:
    """An admin connects the Slack workspace / Teams tenant they are speaking from.

    Proof of presence: only the workspace of the admin's own verified identity can be connected,
    so nobody can claim another company's workspace.
    """
    organisation_id = require_admin(actor)
    workspace = workspace_of(actor)
    with db.transaction() as session:
        attach_workspace(session, actor, organisation_id, actor.channel, workspace)
    return WorkspaceView(organisation_id, actor.channel, workspace)


def attach_workspace(session: Session, actor: Actor, organisation_id: int, channel: str,
                     workspace: str) -> None:
    """The one rule of connecting a workspace (chat or portal): a Slack workspace / Teams tenant
    belongs to one organisation; one connected to another organisation is refused (Conflict)."""
    column = WORKSPACE_COLUMNS[channel]
    holder = session.scalar(select(Organisation.id).where(column == workspace))
    if holder not in (None, organisation_id):
        raise Conflict(f"This {WORKSPACE_WORDS[channel]} is already connected to "
                       "another organisation.")
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("No organisation with that id.")
    setattr(organisation, column.key, workspace)
    session.flush()
    audit.record(session, actor, "workspace.connected", "organisation", organisation_id,
                 organisation_id=organisation_id, channel=channel)


def detach_workspace(session: Session, actor: Actor, organisation_id: int, channel: str,
                     workspace: str) -> bool:
    """The one rule of disconnecting a workspace (the portal's "Disconnect"): the organisation's
    own Slack workspace / Teams tenant, named as the admin saw it, is cleared and the chat
    identities linked from it are unlinked, so that nothing more is done for anyone speaking from
    it until it is connected again. False, changing nothing, when the organisation has nothing
    connected and the workspace is nobody's; a workspace that is not the organisation's (another
    organisation's, or not the one connected now) is refused (NotFound), changing nothing."""
    column = WORKSPACE_COLUMNS[channel]
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("No organisation with that id.")
    connected = getattr(organisation, column.key)
    if connected != workspace:
        holder = session.scalar(select(Organisation.id).where(column == workspace))
        if connected is None and holder is None:
            return False
        raise NotFound(f"This {WORKSPACE_WORDS[channel]} is not the one connected to your "
                       "organisation; reload the page to see the one that is.",
                       code="not_connected")
    setattr(organisation, column.key, None)
    session.flush()
    unlinked = unlink_workspace(session, channel, workspace)
    audit.record(session, actor, "workspace.disconnected", "organisation", organisation_id,
                 organisation_id=organisation_id, channel=channel, workspace=workspace,
                 unlinked=unlinked)
    return True


def unlink_workspace(session: Session, channel: str, workspace: str) -> int:
    """Delete the chat identities of a Slack workspace / Teams tenant ("<channel>:<workspace>:…"):
    how many."""
    prefix = f"{workspace}{identity_format.SEPARATOR}"
    result = session.execute(delete(ChatIdentity).where(
        ChatIdentity.channel == channel,
        ChatIdentity.external_id.startswith(prefix, autoescape=True)))
    return int(getattr(result, "rowcount", 0) or 0)
