"""Single sign-on per organisation over OpenID Connect (authorization code flow with PKCE).

Each organisation configures its provider (issuer URL, client id, client secret stored
encrypted, the tenant and/or domain it admits). Signing in: the person names their work address;
the browser is sent to the provider with a fresh state, nonce and PKCE challenge (Authlib makes
them), which stay in a short-lived signed cookie bound to the browser; back at the callback the
state must match, the code is exchanged with the verifier, and the ID token must be signed by a
key of the provider's JWKS (RS256/ES256), issued by the configured issuer, for our client id,
with our nonce, unexpired, and name the organisation's tenant (`tid`) or domain (`hd`, else a
verified email's domain). The person is then the organisation's member with that address
(joining as a member on first sign-in, since the organisation's own directory vouches for them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select

from backend.db import Database
from backend.domain.enums import Role
from backend.domain.errors import InvalidInput, NotFound, PermissionDenied
from backend.models import Member, Organisation, OrganisationSso
from backend.services import audit
from backend.services.actors import SYSTEM
from backend.services.signin import openid, principals, sessions, tokens
from backend.services.signin.principals import Account, Kind
from backend.services.signin.settings import PortalSettings
from contracts import web_identity
from contracts.web_identity import InvalidWebToken

CALLBACK_PATH = "/portal/sign-in/sso/callback"
ATTEMPT_AUDIENCE = "therapy-portal-sso-attempt"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def refused(reason: str) -> PermissionDenied:
    return PermissionDenied(f"Single sign-on did not work ({reason}). Try again, or ask for a "
                            "sign-in link by email.", code="sso_refused")


@dataclass(frozen=True)
class SsoConfig:
    organisation_id: int
    issuer: str
    client_id: str
    client_secret: str
    allowed_tenant: str | None
    allowed_domain: str | None


def _issuer(value: str) -> str:
    parts = urlsplit(value.strip())
    local = parts.hostname in _LOOPBACK
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise InvalidInput("The issuer must be an https:// address.", code="invalid_issuer")
    if not parts.hostname or parts.query or parts.fragment:
        raise InvalidInput("The issuer must be a plain https:// address.", code="invalid_issuer")
    return value.strip().rstrip("/")


def configure(db: Database, settings: PortalSettings, organisation_id: int, *, issuer: str,
              client_id: str, client_secret: str, allowed_tenant: str | None = None,
              allowed_domain: str | None = None) -> SsoConfig:
    """Set (or replace) an organisation's provider. One of tenant or domain is required, so that
    a provider serving many organisations cannot sign in someone of another one."""
    if not (allowed_tenant or allowed_domain):
        raise InvalidInput("Name the tenant (tid) or the email domain the provider must vouch "
                           "for.", code="sso_unbounded")
    if not client_id.strip() or not client_secret:
        raise InvalidInput("Give the client id and secret registered at the provider.")
    issuer = _issuer(issuer)
    if openid.TENANT_PLACEHOLDER in issuer and not allowed_tenant:
        raise InvalidInput("A multi-tenant issuer ({tenantid}) signs for every tenant: name the "
                           "organisation's tenant (tid).", code="sso_unbounded")
    domain = allowed_domain.strip().lower() if allowed_domain else None
    with db.transaction() as session:
        if session.get(Organisation, organisation_id) is None:
            raise NotFound("No organisation with that id.")
        row = session.scalar(select(OrganisationSso).where(
            OrganisationSso.organisation_id == organisation_id))
        if row is None:
            row = OrganisationSso(organisation_id=organisation_id)
            session.add(row)
        row.issuer, row.client_id = issuer, client_id.strip()
        row.client_secret_sealed = settings.sealer.seal(client_secret)
        row.allowed_tenant, row.allowed_domain = allowed_tenant or None, domain
        audit.record(session, SYSTEM, "sso.configured", "organisation", organisation_id,
                     organisation_id=organisation_id, issuer=issuer)
    return SsoConfig(organisation_id, issuer, client_id.strip(), client_secret,
                     allowed_tenant or None, domain)


def config_for_email(db: Database, settings: PortalSettings, email: object) -> SsoConfig:
    """The SSO of the organisation whose domain this work address is in."""
    address = principals.normalise_email(email)
    domain = address.rsplit("@", 1)[1]
    with db.reader() as session:
        row = session.scalar(
            select(OrganisationSso)
            .join(Organisation, Organisation.id == OrganisationSso.organisation_id)
            .where((OrganisationSso.allowed_domain == domain)
                   | (func.lower(Organisation.email_domain) == domain))
            .order_by(OrganisationSso.id).limit(1))
        if row is None:
            raise NotFound("Your organisation has not set up single sign-on here; ask for a "
                           "sign-in link by email instead.", code="no_sso")
        return SsoConfig(row.organisation_id, row.issuer, row.client_id,
                         settings.sealer.open(row.client_secret_sealed), row.allowed_tenant,
                         row.allowed_domain)


def config_of(db: Database, settings: PortalSettings, organisation_id: int) -> SsoConfig:
    with db.reader() as session:
        row = session.scalar(select(OrganisationSso).where(
            OrganisationSso.organisation_id == organisation_id))
        if row is None:
            raise refused("the organisation no longer uses single sign-on")
        return SsoConfig(row.organisation_id, row.issuer, row.client_id,
                         settings.sealer.open(row.client_secret_sealed), row.allowed_tenant,
                         row.allowed_domain)


# --- The attempt: state, nonce and PKCE verifier, kept in a signed cookie ---------------------


@dataclass(frozen=True)
class Attempt:
    organisation_id: int
    state: str
    nonce: str
    verifier: str
    login_hint: str | None = None


def new_attempt(organisation_id: int, login_hint: str | None) -> Attempt:
    secrets = openid.new_secrets()
    return Attempt(organisation_id, secrets.state, secrets.nonce, secrets.verifier, login_hint)


def redirect_uri(settings: PortalSettings) -> str:
    return settings.public_base_url.rstrip("/") + CALLBACK_PATH


def authorization_url(settings: PortalSettings, config: SsoConfig, discovery: dict[str, Any],
                      attempt: Attempt) -> str:
    try:
        return openid.authorization_url(
            discovery.get("authorization_endpoint"), client_id=config.client_id,
            redirect_uri=redirect_uri(settings), scope="openid email profile",
            state=attempt.state, nonce=attempt.nonce, verifier=attempt.verifier,
            extra=(("login_hint", attempt.login_hint),) if attempt.login_hint else ())
    except openid.Refused:
        raise refused("the provider's discovery document names no authorization endpoint"
                      ) from None


def attempt_cookie(settings: PortalSettings, attempt: Attempt, browser_nonce: str) -> str:
    return web_identity.sign_claims(
        settings.csrf_key, ATTEMPT_AUDIENCE, str(attempt.organisation_id),
        settings.sso_login_minutes * 60,
        {"state": attempt.state, "nonce": attempt.nonce, "verifier": attempt.verifier,
         "browser": tokens.digest(browser_nonce)})


def attempt_of(settings: PortalSettings, cookie: str | None, browser_nonce: str | None,
               state: object) -> Attempt:
    """The attempt this callback ends; refused unless the same browser comes back in time with
    the state it left with."""
    try:
        claims = web_identity.read_claims(settings.csrf_key, ATTEMPT_AUDIENCE, cookie)
    except InvalidWebToken:
        raise refused("the sign-in took too long or started in another browser") from None
    if not browser_nonce or claims.get("browser") != tokens.digest(browser_nonce):
        raise refused("the sign-in started in another browser")
    if not isinstance(state, str) or not tokens.well_formed(state) or state != claims["state"]:
        raise refused("the answer does not belong to this sign-in")
    return Attempt(int(claims["sub"]), claims["state"], claims["nonce"], claims["verifier"])


def token_request(settings: PortalSettings, config: SsoConfig, attempt: Attempt,
                  code: object) -> dict[str, str]:
    try:
        return openid.code_exchange(code, redirect_uri=redirect_uri(settings),
                                    client_id=config.client_id,
                                    client_secret=config.client_secret, verifier=attempt.verifier)
    except openid.Refused as refusal:
        raise refused(str(refusal)) from None


# --- The ID token ------------------------------------------------------------------------------


def verify_id_token(id_token: object, jwks: dict[str, Any], config: SsoConfig,
                    discovery: dict[str, Any], nonce: str,
                    now: datetime | None = None) -> dict[str, Any]:
    """The ID token's claims once signature, issuer, audience, nonce and time all hold
    (backend/services/signin/openid.py)."""
    if discovery.get("issuer", "").rstrip("/") != config.issuer:
        raise refused("the provider's discovery document names another issuer")
    if openid.TENANT_PLACEHOLDER in config.issuer and not config.allowed_tenant:
        # Every tenant's tokens would pass; only a pinned tenant bounds it (see `configure`).
        raise refused("the provider serves every tenant and no tenant is set")
    try:
        return openid.verify(id_token, jwks, issuer=config.issuer, client_id=config.client_id,
                             nonce=nonce, now=now)
    except openid.Refused as refusal:
        raise refused(str(refusal)) from None


def admitted_email(config: SsoConfig, claims: dict[str, Any]) -> str:
    """The verified work address, if the token names the organisation's tenant or domain."""
    email = claims.get("email") or claims.get("preferred_username")
    if claims.get("email_verified") is False:
        raise refused("the provider has not verified the email address")
    try:
        address = principals.normalise_email(email)
    except InvalidInput:
        raise refused("the provider sent no email address") from None
    if config.allowed_tenant and claims.get("tid") != config.allowed_tenant:
        raise refused("you signed in with another organisation's account")
    if config.allowed_domain:
        domain = claims.get("hd") or address.rsplit("@", 1)[1]
        if str(domain).lower() != config.allowed_domain:
            raise refused("you signed in with another organisation's account")
    return address


def sign_in(db: Database, settings: PortalSettings, config: SsoConfig, claims: dict[str, Any],
            now: datetime | None = None) -> sessions.Started:
    address = admitted_email(config, claims)
    name = claims.get("name") if isinstance(claims.get("name"), str) else None
    with db.transaction() as session:
        member = session.scalar(select(Member).where(
            Member.organisation_id == config.organisation_id,
            func.lower(Member.email) == address))
        if member is None:
            member = Member(organisation_id=config.organisation_id,
                            name=(name or address.split("@")[0])[:200], email=address,
                            role=Role.MEMBER)
            session.add(member)
            session.flush()
            audit.record(session, SYSTEM, "member.joined_by_sso", "member", member.id,
                         organisation_id=config.organisation_id)
        account = Account(Kind.MEMBER, address, member_id=member.id)
        return sessions.start(session, settings, account, "oidc", now)
