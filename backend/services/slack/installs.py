"""Slack workspaces connected to organisations, one each, through Slack's OAuth v2 install.

An admin signed in to the portal starts an install (`start`): a random state, stored hashed,
bound to that admin and organisation, single use, valid SLACK_OAUTH_STATE_MINUTES (the states
are backend/services/install_states.py, shared with "Connect Microsoft Teams"). Slack sends the
browser back with the state and a code; `claim` takes the state for the same signed-in admin
(forged, expired, replayed or another admin's: refused, saying so), the route exchanges the code
(backend/adapters/slack_oauth.py) and `connect` keeps the workspace's bot token, encrypted, and
connects the workspace to the organisation (one already connected elsewhere is refused).
`disconnect` (Slack's app_uninstalled / tokens_revoked) deletes the token, clears the
organisation's workspace and unlinks the workspace's chat identities, so that nothing more is
done for anyone speaking from it; `disconnect_by_admin` (the portal's "Disconnect Slack") does
the same for the organisation's own workspace.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain.errors import Conflict, NotFound, PermissionDenied
from backend.models import Organisation, SlackInstallation, SlackInstallState
from backend.services import audit, identities, install_states
from backend.services.actors import SYSTEM, Actor
from backend.services.install_states import Claim
from backend.services.signin.principals import Principal
from backend.services.slack.sealing import TokenSealer
from contracts import identity as identity_format


@dataclass(frozen=True)
class Installed:
    """What Slack's oauth.v2.access gave for a workspace."""

    team_id: str
    team_name: str | None
    bot_user_id: str
    bot_token: str
    installer_user_id: str


@dataclass(frozen=True)
class SlackConnection:
    """The organisation's Slack workspace, as the portal shows it."""

    connected: bool
    team_id: str | None = None
    team_name: str | None = None


@dataclass(frozen=True)
class SlackDisconnection:
    """The portal's "Disconnect" of the organisation's Slack workspace."""

    team_id: str
    was_connected: bool  # False: nothing was connected, nothing changed


@dataclass(frozen=True)
class WorkspaceToken:
    """What the Slack channel needs to speak in a workspace."""

    team_id: str
    bot_token: str
    bot_user_id: str


FLOW = install_states.Flow(SlackInstallState, "connect Slack", "This Slack install link",
                          "Add to Slack", "slack_state_refused")
DISCONNECT_FLOW = replace(FLOW, connects="disconnect Slack")
# The audit's reason when an admin disconnects from the portal (Slack's own: app_uninstalled,
# tokens_revoked).
ADMIN_DISCONNECTED = "disconnected_by_admin"


def _admin(principal: Principal | None) -> Claim:
    return install_states.admin_of(FLOW, principal)


def start(db: Database, principal: Principal | None, now: datetime, minutes: int) -> str:
    """A new state for this admin's install; the caller puts it in Slack's authorize URL."""
    return install_states.start(db, FLOW, principal, now, minutes)


def claim(db: Database, state: object, principal: Principal | None, now: datetime) -> Claim:
    """Take the state (once) for the signed-in admin who started the install."""
    return install_states.claim(db, FLOW, state, principal, now)


def connect(db: Database, sealer: TokenSealer, claimed: Claim, installed: Installed,
            now: datetime) -> SlackConnection:
    """Keep the workspace's token (encrypted) and connect the workspace to the organisation."""
    try:
        return _connect(db, sealer, claimed, installed, now)
    except IntegrityError:  # a concurrent install of the same workspace won
        raise _elsewhere() from None


def _elsewhere() -> Conflict:
    return Conflict("This Slack workspace is already connected to another organisation.",
                    code="workspace_taken")


def _connect(db: Database, sealer: TokenSealer, claimed: Claim, installed: Installed,
             now: datetime) -> SlackConnection:
    organisation_id = claimed.organisation_id
    with db.transaction() as session:
        holder = session.scalar(select(Organisation.id).where(
            Organisation.slack_team_id == installed.team_id))
        taken = session.scalar(select(SlackInstallation.organisation_id).where(
            SlackInstallation.team_id == installed.team_id))
        if {holder, taken} - {None, organisation_id}:
            raise _elsewhere()
        organisation = session.get(Organisation, organisation_id)
        if organisation is None:
            raise NotFound("No organisation with that id.")
        previous = session.scalar(select(SlackInstallation).where(
            SlackInstallation.organisation_id == organisation_id))
        if previous is not None and previous.team_id != installed.team_id:
            identities.unlink_workspace(session, identity_format.SLACK, previous.team_id)
            session.delete(previous)
            session.flush()
        row = previous if previous is not None and previous.team_id == installed.team_id \
            else SlackInstallation(team_id=installed.team_id, organisation_id=organisation_id)
        row.team_name = installed.team_name
        row.bot_user_id = installed.bot_user_id
        row.bot_token_sealed = sealer.seal(installed.bot_token)
        row.installer_user_id = installed.installer_user_id
        row.installed_by_member_id = claimed.member_id
        row.installed_at = now
        session.add(row)
        organisation.slack_team_id = installed.team_id
        session.flush()
        audit.record(session, Actor("web", str(claimed.member_id), member_id=claimed.member_id,
                                    organisation_id=organisation_id),
                     "slack.installed", "organisation", organisation_id,
                     organisation_id=organisation_id, team_id=installed.team_id)
    return SlackConnection(True, installed.team_id, installed.team_name)


def connection_of(db: Database, principal: Principal | None) -> SlackConnection:
    admin = _admin(principal)
    with db.reader() as session:
        row = session.scalar(select(SlackInstallation).where(
            SlackInstallation.organisation_id == admin.organisation_id))
    if row is None:
        return SlackConnection(False)
    return SlackConnection(True, row.team_id, row.team_name)


def token_for(db: Database, sealer: TokenSealer, actor: Actor, team_id: str) -> WorkspaceToken:
    """The workspace's bot token, for the Slack channel speaking with someone of it."""
    _require_workspace(actor, team_id)
    with db.reader() as session:
        row = session.scalar(select(SlackInstallation).where(
            SlackInstallation.team_id == team_id))
    if row is None:
        raise NotFound("This Slack workspace is not installed.", code="not_installed")
    return WorkspaceToken(row.team_id, sealer.open(row.bot_token_sealed), row.bot_user_id)


def disconnect(db: Database, actor: Actor, team_id: str, reason: str) -> bool:
    """Forget the workspace (Slack says the app was uninstalled or its token revoked): its token,
    its organisation's connection and its people's links. False when it was not installed."""
    _require_workspace(actor, team_id)
    with db.transaction() as session:
        return _forget(session, SYSTEM, team_id, reason)


def disconnect_by_admin(db: Database, principal: Principal | None,
                        team_id: str) -> SlackDisconnection:
    """The signed-in admin disconnects their organisation's workspace (named as the portal
    showed it) from the portal: the one rule of disconnecting a workspace
    (backend/services/identities.py) says whether it is theirs, then it is forgotten as an
    uninstall is (its token deleted). The app stays installed in the Slack workspace until
    someone removes it there (Slack's app_uninstalled then finds nothing left to do)."""
    admin = install_states.admin_of(DISCONNECT_FLOW, principal)
    actor = Actor("web", str(admin.member_id), member_id=admin.member_id,
                  organisation_id=admin.organisation_id)
    with db.transaction() as session:
        installed = session.scalar(select(SlackInstallation.team_id).where(
            SlackInstallation.organisation_id == admin.organisation_id))
        was = identities.detach_workspace(session, actor, admin.organisation_id,
                                          identity_format.SLACK, team_id)
        if installed == team_id:
            _forget(session, actor, team_id, ADMIN_DISCONNECTED)
            was = True
    return SlackDisconnection(team_id, was)


def _forget(session: Session, actor: Actor, team_id: str, reason: str) -> bool:
    """The uninstall rule: the workspace's token deleted, its organisation's connection cleared,
    its people's chat identities unlinked. False when no token was kept for it."""
    row = session.scalar(select(SlackInstallation).where(SlackInstallation.team_id == team_id))
    organisation_id = row.organisation_id if row is not None else session.scalar(
        select(Organisation.id).where(Organisation.slack_team_id == team_id))
    if row is not None:
        session.delete(row)
    session.execute(update(Organisation).where(Organisation.slack_team_id == team_id)
                    .values(slack_team_id=None))
    unlinked = identities.unlink_workspace(session, identity_format.SLACK, team_id)
    if organisation_id is not None:
        audit.record(session, actor, "slack.uninstalled", "organisation", organisation_id,
                     organisation_id=organisation_id, team_id=team_id, reason=reason,
                     unlinked=unlinked)
    return row is not None


def reseal(db: Database, sealer: TokenSealer) -> int:
    """Encrypt every stored token with the first key of SLACK_TOKEN_KEYS (key rotation)."""
    with db.transaction() as session:
        rows = session.scalars(select(SlackInstallation)).all()
        for row in rows:
            row.bot_token_sealed = sealer.reseal(row.bot_token_sealed)
    return len(rows)


def _require_workspace(actor: Actor, team_id: str) -> None:
    """The channel asks as someone of that workspace (or Slack itself, USLACKBOT, there)."""
    workspace, _, user = actor.external_id.partition(identity_format.SEPARATOR)
    if actor.channel != identity_format.SLACK or workspace != team_id or not user:
        raise PermissionDenied("Only the Slack channel, speaking in that workspace, may ask.",
                               code="wrong_workspace")
