"""Teams tenants connected to organisations, one each: Microsoft's admin consent, then the
admin's sign-in with Microsoft, whose signed ID token names the tenant connected.

The order: consent first, then the sign-in. The consent is the step that needs a Microsoft
administrator and that the bot needs to work at all; its redirect names a tenant (`tenant=`) but
does not sign it, so it is only a claim. The sign-in that follows (OpenID Connect, code flow with
PKCE, backend/services/signin/openid.py) runs in the Microsoft session the consent just opened,
so the admin is normally not asked again, and its ID token, verified against Microsoft's keys
with the issuer of its own tenant, is Microsoft's signed word: its `tid` is the tenant connected,
and the consent's `tenant=` must be that same tenant, or nothing is connected. Doing it in this
order also ends the flow on the step that connects, with both facts at hand.

1. An admin signed in to the portal starts "Connect Microsoft Teams" (`start`): a single-use
   state bound to that admin and organisation (backend/services/install_states.py, as "Add to
   Slack").
2. Microsoft's consent sends the browser back with the tenant and the state; `claim` takes the
   state for the same signed-in admin, and `begin_sign_in` makes the sign-in's single-use state
   (bound to the same admin, keeping the tenant the consent named, the nonce and the PKCE
   verifier).
3. Microsoft's sign-in sends the browser back with a code and that state; `claim_sign_in` takes
   it, the code is exchanged and the ID token verified, and `connect_signed` connects the
   token's `tid`, if it is the tenant consented for, by the one rule of connecting a workspace
   (backend/services/identities.py: a tenant of another organisation is refused).

The Teams channel asks `is_connected` before it acts on a message from a tenant.

An admin disconnects the tenant from the portal (`disconnect`: after uninstalling the app, or
having connected the wrong tenant) by the one rule of disconnecting a workspace
(backend/services/identities.py): the tenant is no longer the organisation's and its people's
chat identities are unlinked; the channel stops serving it once its answer, kept
TEAMS_TENANT_CACHE_SECONDS, runs out. It can be connected again as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.db import Database
from backend.domain.errors import Conflict, InvalidInput, PermissionDenied
from backend.models import Organisation, TeamsConsentState, TeamsSignInState
from backend.services import identities, install_states
from backend.services.actors import Actor
from backend.services.install_states import Claim
from backend.services.signin import openid
from backend.services.signin.principals import Principal
from contracts import identity as identity_format

FLOW = install_states.Flow(TeamsConsentState, "connect Microsoft Teams",
                           "This Microsoft Teams connection link", "Connect Microsoft Teams",
                           "teams_state_refused")
SIGN_IN_FLOW = install_states.Flow(TeamsSignInState, "connect Microsoft Teams",
                                   "This Microsoft sign-in link", "Connect Microsoft Teams",
                                   "teams_state_refused")
# Who may disconnect: the same admin check, its refusal naming what was asked.
DISCONNECT_FLOW = replace(FLOW, connects="disconnect Microsoft Teams")
# Microsoft's tenant ids are GUIDs.
TENANT_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                       r"[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class TeamsConnection:
    """The organisation's Teams tenant, as the portal shows it."""

    offered: bool  # the service has a Teams app (TEAMS_APP_ID and TEAMS_APP_PASSWORD)
    connected: bool
    tenant_id: str | None = None


@dataclass(frozen=True)
class TenantConnection:
    """For the Teams channel: whether an organisation connected the tenant."""

    tenant_id: str
    connected: bool


@dataclass(frozen=True)
class SignIn:
    """The admin's sign-in with Microsoft, its state taken: whose it is, the tenant the consent
    named, and what the ID token and the token exchange must carry."""

    claimed: Claim
    tenant_id: str
    nonce: str
    verifier: str


def start(db: Database, principal: Principal | None, now: datetime, minutes: int) -> str:
    """A new state for this admin's consent; the caller puts it in Microsoft's URL."""
    return install_states.start(db, FLOW, principal, now, minutes)


def claim(db: Database, state: object, principal: Principal | None, now: datetime) -> Claim:
    """Take the state (once) for the signed-in admin who started the consent."""
    return install_states.claim(db, FLOW, state, principal, now)


def _tenant(tenant_id: object, said: str) -> str:
    if not isinstance(tenant_id, str) or not TENANT_ID.fullmatch(tenant_id):
        raise InvalidInput(said, code="no_tenant")
    return tenant_id.lower()


def begin_sign_in(db: Database, principal: Principal | None, consented: object, now: datetime,
                  minutes: int) -> openid.Secrets:
    """After the consent (its state taken): the sign-in's state, nonce and PKCE verifier, kept
    with the tenant the consent named (not trusted: the ID token's `tid` must match it)."""
    tenant = _tenant(consented, "Microsoft did not name a tenant.")
    secrets = openid.new_secrets()
    install_states.start(db, SIGN_IN_FLOW, principal, now, minutes, state=secrets.state,
                         tenant_id=tenant, nonce=secrets.nonce, verifier=secrets.verifier)
    return secrets


def claim_sign_in(db: Database, state: object, principal: Principal | None,
                  now: datetime) -> SignIn:
    """Take the sign-in's state (once) for the signed-in admin who consented."""
    claimed = install_states.claim(db, SIGN_IN_FLOW, state, principal, now)
    with db.reader() as session:
        row = session.get(TeamsSignInState, claimed.state_id)
        if row is None:  # deleted in between: as if never made
            raise install_states.refused(SIGN_IN_FLOW, "it was not made here")
        return SignIn(claimed, row.tenant_id, row.nonce, row.verifier)


def connect_signed(db: Database, sign_in: SignIn, claims: dict[str, object]) -> str:
    """Connect the tenant of the verified ID token (`tid`), if it is the one consented for."""
    tenant = _tenant(claims.get("tid"), "Microsoft's sign-in named no tenant.")
    if tenant != sign_in.tenant_id:
        raise PermissionDenied(
            "Microsoft Teams was not connected: the consent came back naming the tenant "
            f"{sign_in.tenant_id}, but Microsoft signed you in with an account of the tenant "
            f"{tenant}. Sign in with an account of your organisation's own Microsoft tenant "
            "and start again from the portal with \"Connect Microsoft Teams\".",
            code="teams_tenant_mismatch")
    return _connect(db, sign_in.claimed, tenant)


def _connect(db: Database, claimed: Claim, tenant: str) -> str:
    """Connect a tenant Microsoft signed for to the admin's organisation."""
    actor = Actor("web", str(claimed.member_id), member_id=claimed.member_id,
                  organisation_id=claimed.organisation_id)
    try:
        with db.transaction() as session:
            identities.attach_workspace(session, actor, claimed.organisation_id,
                                        identity_format.TEAMS, tenant)
    except IntegrityError:  # a concurrent connection of the same tenant won
        raise Conflict("This Microsoft Teams organisation is already connected to another "
                       "organisation.") from None
    return tenant


def connection_of(db: Database, principal: Principal | None, offered: bool) -> TeamsConnection:
    admin = install_states.admin_of(FLOW, principal)
    with db.reader() as session:
        tenant = session.scalar(select(Organisation.teams_tenant_id).where(
            Organisation.id == admin.organisation_id))
    return TeamsConnection(offered, tenant is not None, tenant)


@dataclass(frozen=True)
class TeamsDisconnected:
    """The portal's "Disconnect" of the organisation's Teams tenant."""

    tenant_id: str
    was_connected: bool  # False: nothing was connected, nothing changed


def disconnect(db: Database, principal: Principal | None, tenant_id: str) -> TeamsDisconnected:
    """The signed-in admin disconnects their organisation's tenant (named as the portal showed
    it); another organisation's tenant is refused."""
    admin = install_states.admin_of(DISCONNECT_FLOW, principal)
    tenant = tenant_id.lower() if TENANT_ID.fullmatch(tenant_id) else tenant_id
    actor = Actor("web", str(admin.member_id), member_id=admin.member_id,
                  organisation_id=admin.organisation_id)
    with db.transaction() as session:
        was = identities.detach_workspace(session, actor, admin.organisation_id,
                                          identity_format.TEAMS, tenant)
    return TeamsDisconnected(tenant, was)


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
