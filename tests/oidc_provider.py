"""A local OpenID provider stand-in (aiohttp): discovery, JWKS, an authorization endpoint that
approves at once as the configured person, and a token endpoint that checks the client, the code
and the PKCE verifier and returns a real RS256 ID token (joserfc). Tests forge tokens by changing
`claims_override` or `signing_key` before the code is exchanged.

One provider by default (issuer `issuer`, tenant `tenant`); with `tenant_issuer` a multi-tenant
one as Microsoft's `organizations` authority is, each token's issuer that of the tenant of the
person signed in (`{base}/{tenantid}/v2.0`). tests/channels/standins.py's BotFrameworkLogin
serves it at Microsoft's addresses for "Connect Microsoft Teams"."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "therapy-portal-client"
CLIENT_SECRET = "stand-in-client-secret"
TENANT = "tenant-northwind"


def new_key(kid: str = "key-1") -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid})


@dataclass
class OpenIdProvider:
    issuer: str = ""
    key: RSAKey = field(default_factory=new_key)
    signing_key: RSAKey | None = None  # None: sign with `key` (the published one)
    person: dict[str, Any] = field(default_factory=dict)
    claims_override: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    exchanges: list[dict[str, str]] = field(default_factory=list)
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    tenant: str = TENANT
    # e.g. "{base}/{tenantid}/v2.0": the issuer is the tenant's own (`base` is `issuer`).
    tenant_issuer: str | None = None
    # The issuer the published key names, as Microsoft's keys do (default: with `tenant_issuer`,
    # its template; else none).
    key_issuer: str | None = None

    def token_issuer(self, tenant: str) -> str:
        if self.tenant_issuer is None:
            return self.issuer
        return self.tenant_issuer.format(base=self.issuer, tenantid=tenant)

    @property
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self.discovery)
        app.router.add_get("/jwks", self.jwks)
        app.router.add_get("/authorize", self.authorize)
        app.router.add_post("/token", self.token)
        return app

    async def discovery(self, request: web.Request) -> web.Response:
        return web.json_response({
            "issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256"]})

    async def jwks(self, request: web.Request) -> web.Response:
        key = self.key.as_dict(private=False)
        issuer = self.key_issuer or (self.tenant_issuer and self.tenant_issuer.format(
            base=self.issuer, tenantid="{tenantid}"))
        if issuer:
            key["issuer"] = issuer
        return web.json_response({"keys": [key]})

    async def authorize(self, request: web.Request) -> web.Response:
        """Approves at once (the person is "signed in" at the provider) and sends them back."""
        query = request.query
        if (query.get("client_id") != self.client_id
                or query.get("code_challenge_method") != "S256"):
            return web.Response(status=400, text="bad client or PKCE method")
        code = secrets.token_urlsafe(16)
        self.codes[code] = {**query, "tid": self.tenant}
        back = {"code": code, "state": query.get("state", "")}
        raise web.HTTPFound(f"{query['redirect_uri']}?{urlencode(back)}")

    def id_token(self, request: dict[str, str]) -> str:
        now = int(time.time())
        tenant = request.get("tid", self.tenant)
        claims = {"iss": self.token_issuer(tenant), "aud": self.client_id, "sub": "person-1",
                  "iat": now, "exp": now + 600, "nonce": request.get("nonce"), "tid": tenant,
                  "email_verified": True, **self.person, **self.claims_override}
        key = self.signing_key or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    async def token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.exchanges.append({key: str(value) for key, value in form.items()})
        asked = self.codes.pop(str(form.get("code")), None)
        if (asked is None or form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret
                or form.get("redirect_uri") != asked.get("redirect_uri")):
            return web.json_response({"error": "invalid_grant"}, status=400)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != asked.get("code_challenge"):
            return web.json_response({"error": "invalid_grant",
                                      "error_description": "PKCE"}, status=400)
        return web.json_response({"access_token": "at", "token_type": "Bearer",
                                  "id_token": self.id_token(asked)})
