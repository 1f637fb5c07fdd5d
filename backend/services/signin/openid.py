"""OpenID Connect's authorization code flow with PKCE, the one place that speaks it: the
portal's single sign-on with an organisation's own provider (backend/services/signin/sso.py) and
"Connect Microsoft Teams", the admin's sign-in with Microsoft (backend/services/teams/
tenants.py). The HTTP of it (discovery, keys, the token endpoint) is backend/adapters/oidc.py.

`new_secrets` makes the state, nonce and PKCE verifier (Authlib); `authorization_url` is where
the browser goes; `code_exchange` is the form for the token endpoint; `verify` checks the ID
token that comes back. An ID token is accepted only when it is signed (RS256/ES256) by a key of
the provider's JWKS, issued by the expected issuer, for our client id (and, naming several
audiences, authorised for us: `azp`), with the nonce we sent, and unexpired (a minute's
leeway). A multi-tenant issuer such as Microsoft's (`https://login.microsoftonline.com/
{tenantid}/v2.0`, as its `organizations` and `common` discovery documents give it) is the
tenant's own: `{tenantid}` is filled with the token's `tid` claim, so that a token names the
tenant that issued it (Microsoft identity platform, "Validate the issuer" for multi-tenant
applications); a key that names its issuer (Microsoft's do) signs only that issuer's tokens.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

SIGNATURE_ALGORITHMS = ["RS256", "ES256"]
LEEWAY_SECONDS = 60
TENANT_PLACEHOLDER = "{tenantid}"
_TENANT = re.compile(r"[A-Za-z0-9.-]{1,64}")


class Refused(ValueError):
    """What came back is not accepted; the message says why (for the refusal the caller makes)."""


@dataclass(frozen=True)
class Secrets:
    """One attempt's secrets: the state (sent), the nonce (sent, to come back in the ID token)
    and the PKCE verifier (kept; only its S256 challenge is sent)."""

    state: str
    nonce: str
    verifier: str


def new_secrets() -> Secrets:
    return Secrets(generate_token(32), generate_token(32), generate_token(64))


def authorization_url(endpoint: object, *, client_id: str, redirect_uri: str, scope: str,
                      state: str, nonce: str, verifier: str,
                      extra: tuple[tuple[str, str], ...] = ()) -> str:
    """Where the browser is sent to sign in (response_type=code, PKCE S256)."""
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        raise Refused("the provider names no authorization endpoint")
    params = [("response_type", "code"), ("client_id", client_id),
              ("redirect_uri", redirect_uri), ("scope", scope), ("state", state),
              ("nonce", nonce), ("code_challenge", create_s256_code_challenge(verifier)),
              ("code_challenge_method", "S256"), *extra]
    return add_params_to_uri(endpoint, params)


def code_exchange(code: object, *, redirect_uri: str, client_id: str, client_secret: str,
                  verifier: str) -> dict[str, str]:
    """The token endpoint's form for the code the provider sent back."""
    if not isinstance(code, str) or not code or len(code) > 4096:
        raise Refused("the provider sent no code")
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": client_id, "client_secret": client_secret, "code_verifier": verifier}


def expected_issuer(issuer: str, claims: dict[str, Any]) -> str:
    """The issuer a token must name: `issuer` itself, or, when it is a multi-tenant template,
    the template filled with the token's own tenant (`tid`)."""
    if TENANT_PLACEHOLDER not in issuer:
        return issuer.rstrip("/")
    tenant = claims.get("tid")
    if not isinstance(tenant, str) or not _TENANT.fullmatch(tenant):
        raise Refused("the ID token names no tenant")
    return issuer.replace(TENANT_PLACEHOLDER, tenant).rstrip("/")


def _key_issuer_holds(jwks: dict[str, Any], kid: object, claims: dict[str, Any]) -> None:
    """A key that names its issuer (Microsoft's multi-tenant keys do, as a template) signs only
    that issuer's tokens (Microsoft identity platform, "Validate the signing key issuer")."""
    named = str(claims.get("iss", "")).rstrip("/")
    for key in jwks.get("keys", []):
        if (isinstance(key, dict) and key.get("kid") == kid
                and isinstance(key.get("issuer"), str)
                and expected_issuer(key["issuer"], claims) != named):
            raise Refused("the ID token was signed by a key of another issuer")


def verify(id_token: object, jwks: dict[str, Any], *, issuer: str, client_id: str, nonce: str,
           now: datetime | None = None) -> dict[str, Any]:
    """The ID token's claims once signature, issuer, audience, nonce and time all hold."""
    if not isinstance(id_token, str) or not id_token:
        raise Refused("the provider sent no ID token")
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        token = jwt.decode(id_token, keys, algorithms=SIGNATURE_ALGORITHMS)
        claims = token.claims
        named = claims.get("iss", "")
        wanted = expected_issuer(issuer, claims)
        # The issuer as the provider spells it (some end it with "/", e.g. Auth0).
        registry = jwt.JWTClaimsRegistry(
            now=int(now.timestamp() if now else time.time()), leeway=LEEWAY_SECONDS,
            iss={"essential": True,
                 "value": named if isinstance(named, str) and named.rstrip("/") == wanted
                 else wanted},
            aud={"essential": True, "value": client_id},
            nonce={"essential": True, "value": nonce},
            sub={"essential": True}, exp={"essential": True}, iat={"essential": True})
        registry.validate(claims)
        _key_issuer_holds(jwks, token.header.get("kid"), claims)
    except Refused:
        raise
    except (JoseError, ValueError, KeyError, TypeError) as error:
        raise Refused(f"the ID token was not accepted: {type(error).__name__}") from None
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise Refused("the ID token was issued to another client")
    return dict(claims)
