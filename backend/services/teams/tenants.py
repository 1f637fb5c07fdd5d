"""Teams tenants connected to organisations, one each, through Microsoft's admin consent.

An admin signed in to the portal starts "Connect Microsoft Teams" (`start`): a single-use state
bound to that admin and organisation (backend/services/install_states.py, as "Add to Slack").
Microsoft sends the browser back with the tenant and the state; `claim` takes the state for the
same signed-in admin, and `connect` connects the tenant to the organisation by the one rule of
connecting a workspace (backend/services/identities.py: a tenant of another organisation is
refused). The Teams channel asks `is_connected` before it acts on a message from a tenant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.db import Database
from backend.domain.errors import Conflict, InvalidInput, PermissionDenied
from backend.models import Organisation, TeamsConsentState
from backend.services import identities, install_states
from backend.services.actors import Actor
from backend.services.install_states import Claim
from backend.services.signin.principals import Principal
from contracts import identity as identity_format

FLOW = install_states.Flow(TeamsConsentState, "connect Microsoft Teams",
                           "This Microsoft Teams connection link", "Connect Microsoft Teams",
                           "teams_state_refused")
# Microsoft's tenant ids are GUIDs.
TENANT_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                       r"[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class TeamsConnection:
    """The organisation's Teams tenant, as the portal shows it."""

    offered: bool  # the service has a Teams app (TEAMS_APP_ID)
    connected: bool
    tenant_id: str | None = None


@dataclass(frozen=True)
class TenantConnection:
    """For the Teams channel: whether an organisation connected the tenant."""

    tenant_id: str
    connected: bool


def start(db: Database, principal: Principal | None, now: datetime, minutes: int) -> str:
    """A new state for this admin's consent; the caller puts it in Microsoft's URL."""
    return install_states.start(db, FLOW, principal, now, minutes)


def claim(db: Database, state: object, principal: Principal | None, now: datetime) -> Claim:
    """Take the state (once) for the signed-in admin who started the consent."""
    return install_states.claim(db, FLOW, state, principal, now)


def connect(db: Database, claimed: Claim, tenant_id: str) -> str:
    """Connect the tenant the admin consented for to their organisation."""
    if not TENANT_ID.fullmatch(tenant_id):
        raise InvalidInput("Microsoft did not name a tenant.", code="no_tenant")
    tenant = tenant_id.lower()
    actor = Actor("web", str(claimed.member_id), member_id=claimed.member_id,
                  organisation_id=claimed.organisation_id)
    try:
        with db.transaction() as session:
            identities.attach_workspace(session, actor, claimed.organisation_id,
                                        identity_format.TEAMS, tenant)
    except IntegrityError:  # a concurrent consent for the same tenant won
        raise Conflict("This Microsoft Teams organisation is already connected to another "
                       "organisation.") from None
    return tenant


def connection_of(db: Database, principal: Principal | None, offered: bool) -> TeamsConnection:
    admin = install_states.admin_of(FLOW, principal)
    with db.reader() as session:
        tenant = session.scalar(select(Organisation.teams_tenant_id).where(
            Organisation.id == admin.organisation_id))
    return TeamsConnection(offered, tenant is not None, tenant)


def is_connected(db: Database, actor: Actor, tenant_id: str) -> TenantConnection:
    """Whether an organisation connected the tenant (the Teams channel asks, as someone of it)."""
    tenant, _, user = actor.external_id.partition(identity_format.SEPARATOR)
    if actor.channel != identity_format.TEAMS or tenant != tenant_id or not user:
        raise PermissionDenied("Only the Teams channel, speaking in that tenant, may ask.",
                               code="wrong_tenant")
    with db.reader() as session:
        holder = session.scalar(select(Organisation.id).where(
            Organisation.teams_tenant_id == tenant_id))
    return TenantConnection(tenant_id, holder is not None)
