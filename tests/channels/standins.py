"""Local stand-ins for Slack's Web API and Microsoft's Bot Framework services (no internet).

Each is an aiohttp application that records what it received. `ThreadedServer` runs one on a free
port in a background thread, so that processes started by tests/stack.py can reach it for a whole
session; unit tests can also mount the apps on pytest-aiohttp's `aiohttp_server`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.oidc_provider import OpenIdProvider

# ---------------------------------------------------------------------------------------------
# Running an app in a thread


class ThreadedServer:
    """An aiohttp app served from a thread of its own; `with ThreadedServer(app) as server:`
    starts it and stops it afterwards."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ThreadedServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("stand-in server did not start")
        return self

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def wait_for(condition: Callable[[], Any], timeout: float = 30, interval: float = 0.1,
             why: Callable[[], str] | None = None) -> Any:
    """Poll until `condition()` is truthy; returns its value or raises AssertionError, with
    `why()` (a log, the state) in its message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s" + (f":\n{why()}" if why else ""))


# ---------------------------------------------------------------------------------------------
# Slack Web API


class SlackWebApi:
    """auth.test, users.info, conversations.open and chat.postMessage, as Slack answers them,
    and Slack's OAuth v2 install: the consent page (/oauth/v2/authorize, whose "Allow" sends the
    browser back to the app's redirect URL with a code and the state) and oauth.v2.access (the
    app's client id and secret, the code once, the same redirect URL -> a bot token bound to the
    workspace).

    `token` (the single-workspace SLACK_BOT_TOKEN of older set-ups) reaches every workspace; a
    token made by an install reaches its own workspace only (users, their direct messages), as
    Slack's do, and is revoked by `uninstall`. conversations.open with one user answers that
    user's direct-message channel, "D<user>". Every authorised call is kept in `calls_with`
    as (method, token, arguments)."""

    def __init__(self, token: str = "xoxb-test-token", *, client_id: str = "client-id",
                 client_secret: str = "client-secret") -> None:
        self.token = token
        self.client_id = client_id
        self.client_secret = client_secret
        self.users: dict[str, dict[str, Any]] = {}
        self.posts: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.calls_with: list[tuple[str, str, dict[str, Any]]] = []
        # Install tokens -> their workspace; the consent page installs into `installing`.
        self.workspace_tokens: dict[str, str] = {}
        self.installing: tuple[str, str, str] | None = None  # team id, team name, installer
        self.codes: dict[str, dict[str, str]] = {}
        self.exchanges: list[dict[str, str]] = []
        self.hold_users_info = threading.Event()  # set: users.info waits until it is cleared
        self.app = web.Application()
        self.app.router.add_get("/oauth/v2/authorize", self._authorize)
        self.app.router.add_get("/oauth/v2/allow", self._allow)
        self.app.router.add_route("*", "/api/{method}", self._dispatch)

    def add_user(self, team_id: str, user_id: str, email: str | None, name: str = "Test User",
                 **extra: Any) -> None:
        profile = {"real_name": name, **({"email": email} if email else {})}
        self.users[user_id] = {"id": user_id, "team_id": team_id, "name": name.lower(),
                               "real_name": name, "deleted": False, "is_bot": False,
                               "is_email_confirmed": True, "profile": profile, **extra}

    def posts_to(self, channel: str) -> list[dict[str, Any]]:
        return [post for post in self.posts if post.get("channel") == channel]

    def tokens_posting_to(self, channel: str) -> list[str]:
        return [token for method, token, args in self.calls_with
                if method == "chat.postMessage" and args.get("channel") == channel]

    def uninstall(self, team_id: str) -> None:
        """Slack revokes the workspace's tokens when the app is uninstalled."""
        for token, team in list(self.workspace_tokens.items()):
            if team == team_id:
                del self.workspace_tokens[token]

    # --- OAuth v2 ---------------------------------------------------------------------------

    async def _authorize(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("client_id") != self.client_id or not query.get("state") \
                or not query.get("redirect_uri") or self.installing is None:
            return web.Response(status=400, text="invalid_client_id or nothing to install")
        team_id, team_name, installer = self.installing
        code = uuid.uuid4().hex
        self.codes[code] = {"team_id": team_id, "team_name": team_name, "installer": installer,
                            "redirect_uri": query["redirect_uri"],
                            "scope": query.get("scope", "")}
        allow = f"/oauth/v2/allow?code={code}&state={query['state']}"
        page = (f"<!doctype html><title>Slack</title><h1>Therapy Sessions is requesting "
                f"permission to access {team_name}</h1><p>Scopes: {query.get('scope')}</p>"
                f"<a id=allow href='{allow}'>Allow</a>")
        return web.Response(text=page, content_type="text/html")

    async def _allow(self, request: web.Request) -> web.Response:
        code = request.query.get("code", "")
        grant = self.codes.get(code)
        if grant is None:
            return web.Response(status=400, text="unknown code")
        target = f"{grant['redirect_uri']}?code={code}&state={request.query.get('state', '')}"
        raise web.HTTPFound(target)

    def _client_authenticated(self, request: web.Request, args: dict[str, Any]) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        else:
            client_id, secret = str(args.get("client_id")), str(args.get("client_secret"))
        return (client_id, secret) == (self.client_id, self.client_secret)

    def _oauth_access(self, request: web.Request, args: dict[str, Any]) -> web.Response:
        if not self._client_authenticated(request, args):
            return web.json_response({"ok": False, "error": "invalid_client"})
        grant = self.codes.pop(str(args.get("code")), None)  # a code works once
        if grant is None:
            return web.json_response({"ok": False, "error": "invalid_code"})
        if args.get("redirect_uri") != grant["redirect_uri"]:
            return web.json_response({"ok": False, "error": "bad_redirect_uri"})
        token = f"xoxb-{grant['team_id']}-{uuid.uuid4().hex}"
        self.workspace_tokens[token] = grant["team_id"]
        self.exchanges.append({"team_id": grant["team_id"], "token": token,
                               "scope": grant["scope"]})
        return web.json_response({
            "ok": True, "access_token": token, "token_type": "bot", "scope": grant["scope"],
            "bot_user_id": f"UBOT{grant['team_id']}", "app_id": "A1",
            "team": {"id": grant["team_id"], "name": grant["team_name"]}, "enterprise": None,
            "authed_user": {"id": grant["installer"]}})

    # --- The Web API ------------------------------------------------------------------------

    def _team_of_token(self, request: web.Request) -> tuple[str | None, str | None]:
        """(token, its workspace); the workspace is None for the any-workspace token; the
        token None when it is not one Slack would accept."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer":
            return None, None
        if token == self.token:
            return token, None
        if token in self.workspace_tokens:
            return token, self.workspace_tokens[token]
        return None, None

    def _reaches(self, team: str | None, user_id: str) -> bool:
        user = self.users.get(user_id)
        return user is not None and (team is None or user["team_id"] == team)

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls.append(method)
        if request.method == "GET":
            args = {}
        elif request.content_type == "application/json":
            args = await request.json()
        else:
            args = dict(await request.post())
        args.update(request.query)
        if method == "oauth.v2.access":
            return self._oauth_access(request, args)
        token, team = self._team_of_token(request)
        if token is None:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        self.calls_with.append((method, token, dict(args)))
        if method == "auth.test":
            return web.json_response({"ok": True, "team_id": team or "T0", "user_id": "UBOT",
                                      "bot_id": "BBOT"})
        if method == "users.info":
            while self.hold_users_info.is_set():
                await asyncio.sleep(0.05)
            user_id = str(args.get("user"))
            if not self._reaches(team, user_id):
                return web.json_response({"ok": False, "error": "user_not_found"})
            return web.json_response({"ok": True, "user": self.users[user_id]})
        if method == "conversations.open":
            users = str(args.get("users") or "")
            if not users or "," in users or not self._reaches(team, users):
                return web.json_response({"ok": False, "error": "user_not_found"})
            return web.json_response({"ok": True, "channel": {"id": f"D{users}"}})
        if method == "chat.postMessage":
            channel = str(args.get("channel") or "")
            if team is not None and channel.startswith("D") \
                    and not self._reaches(team, channel[1:]):
                return web.json_response({"ok": False, "error": "channel_not_found"})
            if isinstance(args.get("blocks"), str):
                args["blocks"] = json.loads(args["blocks"])
            self.posts.append(args)
            return web.json_response({"ok": True, "channel": args.get("channel"),
                                      "ts": f"{time.time():.6f}"})
        return web.json_response({"ok": False, "error": "unknown_method"})


# ---------------------------------------------------------------------------------------------
# Bot Framework: signing keys, OpenID metadata, token endpoint, connector (serviceUrl)

BOT_ISSUER = "https://api.botframework.com"


class Signer:
    """An RSA key that signs Bot Framework style tokens."""

    def __init__(self, kid: str | None = None, endorsements: tuple[str, ...] = ("msteams",)):
        self.kid = kid or f"key-{uuid.uuid4().hex[:8]}"
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.endorsements = endorsements

    def jwk(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "endorsements": list(self.endorsements)}

    def token(self, *, audience: str, service_url: str, issuer: str = BOT_ISSUER,
              lifetime: float = 3600, kid: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": issuer, "aud": audience, "serviceurl": service_url, "nbf": now - 5,
                   "iat": now - 5, "exp": int(now + lifetime), **claims}
        return jwt.encode(payload, self.private_key, algorithm="RS256",
                          headers={"kid": kid or self.kid})


class BotFrameworkLogin:
    """OpenID metadata + JWKS (login.botframework.com), the token endpoint, the admin-consent
    endpoint and the OpenID sign-in of work and school accounts (login.microsoftonline.com), in
    one app.

    Admin consent as Microsoft's v2.0 endpoint speaks it: GET /{tenant}/v2.0/adminconsent with the
    app's client_id, a scope, a redirect_uri registered for the app (`redirect_uris`) and a
    state shows a consent page for the tenant of the admin signing in (`consenting`); "Accept"
    sends the browser back with admin_consent=True&tenant=<id>&scope=...&state=..., "Cancel" with
    error=access_denied&error_description=...&state=... . An unknown client or redirect_uri is
    an error page of Microsoft's own (nothing is sent back), as Microsoft does. A test plays the
    admin who edits the URL on the way back with `edit_tenant` (sent back instead).

    The sign-in (OpenID Connect, authorization code with PKCE, the `organizations` authority) is
    tests/oidc_provider.py's provider (`openid`) at Microsoft's addresses: GET
    /organizations/oauth2/v2.0/authorize signs in at once the admin of `consenting`, POST
    /organizations/oauth2/v2.0/token exchanges the code (the app's id and secret, the verifier)
    for an RS256 ID token whose `tid` is that tenant and whose issuer is the tenant's own,
    <base>/<tid>/v2.0, as Microsoft's are; the keys are at /organizations/discovery/v2.0/keys,
    each naming its issuer, <base>/{tenantid}/v2.0, as Microsoft's do.
    Tests forge tokens through `openid` (`claims_override`, `signing_key`)."""

    def __init__(self, app_id: str, app_password: str) -> None:
        self.app_id = app_id
        self.app_password = app_password
        self.signers: list[Signer] = [Signer()]
        self.metadata_requests = 0
        self.jwks_requests = 0
        self.tokens_issued: list[str] = []
        self.token_lifetime = 3600
        self.app = web.Application()
        self.app.router.add_get("/v1/.well-known/openidconfiguration", self._metadata)
        self.app.router.add_get("/v1/keys", self._keys)
        self.app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        self.consenting: str | None = None  # the tenant of the admin who signs in to consent
        self.redirect_uris: set[str] = set()
        self.consents: list[dict[str, str]] = []  # each consent page's query
        self._pending: dict[str, dict[str, str]] = {}
        self.edit_tenant: str | None = None  # the tenant= sent back instead (an edited URL)
        self.app.router.add_get("/{tenant}/v2.0/adminconsent", self._admin_consent)
        self.app.router.add_get("/consent/{answer}", self._consent_answer)
        self.openid = OpenIdProvider(client_id=app_id, client_secret=app_password,
                                     tenant_issuer="{base}/{tenantid}/v2.0",
                                     person={"name": "Teams Admin", "ver": "2.0"})
        self.sign_ins: list[dict[str, str]] = []  # each sign-in's query
        self.app.router.add_get("/organizations/v2.0/.well-known/openid-configuration",
                                self._organizations_metadata)
        self.app.router.add_get("/organizations/discovery/v2.0/keys", self._organizations_keys)
        self.app.router.add_get("/organizations/oauth2/v2.0/authorize", self._authorize)

    @property
    def signer(self) -> Signer:
        return self.signers[0]

    async def _admin_consent(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.consents.append({"tenant": request.match_info["tenant"], **query})
        if (query.get("client_id") != self.app_id or query.get("redirect_uri")
                not in self.redirect_uris or not query.get("scope") or self.consenting is None):
            return web.Response(status=400, text="AADSTS50011: The redirect URI or the "
                                                 "application is not registered.")
        ticket = uuid.uuid4().hex
        self._pending[ticket] = {**query, "tenant": self.consenting}
        page = (f"<!doctype html><title>Permissions requested</title><h1>Permissions requested"
                f"</h1><p>Accept for your organisation ({self.consenting}): "
                f"{query['scope']}</p><a id=accept href='/consent/accept?ticket={ticket}'>"
                f"Accept</a> <a id=cancel href='/consent/cancel?ticket={ticket}'>Cancel</a>")
        return web.Response(text=page, content_type="text/html")

    async def _consent_answer(self, request: web.Request) -> web.Response:
        grant = self._pending.pop(request.query.get("ticket", ""), None)
        if grant is None:
            return web.Response(status=400, text="unknown request")
        if request.match_info["answer"] == "accept":
            answer = {"admin_consent": "True", "tenant": self.edit_tenant or grant["tenant"],
                      "scope": grant["scope"], "state": grant.get("state", "")}
        else:
            answer = {"error": "access_denied", "error_description":
                      "AADSTS65004: User declined to consent to access the app.",
                      "state": grant.get("state", "")}
        raise web.HTTPFound(f"{grant['redirect_uri']}?{urlencode(answer)}")

    def _base(self, request: web.Request) -> str:
        self.openid.issuer = f"{request.scheme}://{request.host}"
        return self.openid.issuer

    async def _organizations_metadata(self, request: web.Request) -> web.Response:
        base = self._base(request)
        return web.json_response({
            "issuer": f"{base}/{{tenantid}}/v2.0",
            "authorization_endpoint": f"{base}/organizations/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/organizations/oauth2/v2.0/token",
            "jwks_uri": f"{base}/organizations/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token"],
            "id_token_signing_alg_values_supported": ["RS256"]})

    async def _organizations_keys(self, request: web.Request) -> web.Response:
        self._base(request)
        return await self.openid.jwks(request)

    async def _authorize(self, request: web.Request) -> web.Response:
        """Signs in at once the admin of `consenting` (in Microsoft's session since the
        consent) and sends them back with a code, if the app and redirect_uri are known."""
        query = dict(request.query)
        self.sign_ins.append(query)
        if (query.get("redirect_uri") not in self.redirect_uris or self.consenting is None
                or "openid" not in query.get("scope", "").split()):
            return web.Response(status=400, text="AADSTS50011: The redirect URI or the "
                                                 "application is not registered.")
        self._base(request)
        self.openid.tenant = self.consenting
        return await self.openid.authorize(request)

    async def _metadata(self, request: web.Request) -> web.Response:
        self.metadata_requests += 1
        base = f"{request.scheme}://{request.host}"
        return web.json_response({"issuer": BOT_ISSUER, "jwks_uri": f"{base}/v1/keys",
                                  "id_token_signing_alg_values_supported": ["RS256"]})

    async def _keys(self, request: web.Request) -> web.Response:
        self.jwks_requests += 1
        return web.json_response({"keys": [signer.jwk() for signer in self.signers]})

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if (request.match_info["tenant"] == "organizations"
                and form.get("grant_type") == "authorization_code"):
            self._base(request)
            return await self.openid.token(request)
        if (form.get("grant_type") != "client_credentials" or form.get("client_id") != self.app_id
                or form.get("client_secret") != self.app_password
                or form.get("scope") != "https://api.botframework.com/.default"):
            return web.json_response({"error": "invalid_client"}, status=401)
        token = f"bot-token-{len(self.tokens_issued) + 1}"
        self.tokens_issued.append(token)
        return web.json_response({"token_type": "Bearer", "expires_in": self.token_lifetime,
                                  "access_token": token})


class BotConnector:
    """A serviceUrl: receives replies and proactive messages, answers member look-ups; checks
    the bot token."""

    def __init__(self, login: BotFrameworkLogin) -> None:
        self.login = login
        self.replies: list[dict[str, Any]] = []
        self.members: dict[str, dict[str, Any]] = {}
        self.unauthorised = 0
        self.app = web.Application()
        self.app.router.add_post("/v3/conversations/{conversation}/activities/{activity}",
                                 self._reply)
        self.app.router.add_post("/v3/conversations/{conversation}/activities", self._reply)
        self.app.router.add_get("/v3/conversations/{conversation}/members/{member}",
                                self._member)

    def _authorised(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        ok = scheme == "Bearer" and token in self.login.tokens_issued
        self.unauthorised += not ok
        return ok

    async def _reply(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        activity = await request.json()
        # A reply names the activity it answers; a proactive message none.
        self.replies.append({"conversation": request.match_info["conversation"],
                             "reply_to": request.match_info.get("activity"),
                             "activity": activity})
        return web.json_response({"id": f"reply-{len(self.replies)}"})

    async def _member(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        member = self.members.get(request.match_info["member"])
        if member is None:
            return web.json_response({"error": {"code": "MemberNotFound"}}, status=404)
        return web.json_response(member)

    def replies_to(self, conversation: str) -> list[dict[str, Any]]:
        return [reply["activity"] for reply in self.replies
                if reply["conversation"] == conversation]


def teams_activity(service_url: str, *, text: str = "hello", tenant: str = "tenant-1",
                   aad: str = "aad-1", conversation: str | None = None,
                   value: dict[str, Any] | None = None, app_id: str = "app-id") -> dict[str, Any]:
    conversation = conversation or f"a:conv-{uuid.uuid4().hex[:10]}"
    activity: dict[str, Any] = {
        "type": "message", "id": f"act-{uuid.uuid4().hex[:10]}", "channelId": "msteams",
        "serviceUrl": service_url, "text": text,
        "from": {"id": f"29:{aad}", "name": "Test Person", "aadObjectId": aad},
        "recipient": {"id": f"28:{app_id}", "name": "Therapy bot"},
        "conversation": {"id": conversation, "conversationType": "personal", "tenantId": tenant},
        "channelData": {"tenant": {"id": tenant}},
    }
    if value is not None:
        activity["value"] = value
    return activity
