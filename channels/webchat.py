"""The website widget's channel: socket.io on the Rasa server, with verified identities.

Unlike Rasa's own socket.io channel, the conversation is never keyed by an id the browser
chooses (its `session_persistence` lets any client join any session):
- a signed-in portal member connects with an identity token from the backend (see
  contracts/web_identity.py); the sender id is the token's subject `web:<member id>` and every
  message carries {"identity", "verified_email"} as metadata; the portal session the token names
  must still hold (channels/web_sessions.py): at connection, before each message and every
  WEB_SESSION_CHECK_SECONDS; when it has ended (sign-out) the socket gets "session_ended" and is
  closed;
- a visitor without a token is anonymous: a server-generated sender id, no identity metadata (so
  the actions refuse to act on an organisation), and a signed visitor token to resume after reload;
- a present but invalid token refuses the connection ("invalid_token"), as does an Origin that
  is not in WEB_ALLOWED_ORIGINS ("origin_not_allowed").
Metadata sent by the browser is ignored; every message goes through channels/admission.py (too
long, too fast, card numbers redacted before Rasa sees the text); engine.io refuses a packet or
polling request over CHAT_MAX_REQUEST_BYTES (its `max_http_buffer_size`).
All sockets of one sender share a room, so replies reach every open tab, and a reload fetches
the past messages from the tracker store.

Protocol: see web/src/chat.js.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio.exceptions import ConnectionRefusedError as Refused

from channels import web_history
from channels.admission import Admission, Admitted
from channels.push import PushOutput, build_ledger
from channels.verified_input import OnNewMessage, at_shutdown, converse
from channels.web_sessions import SessionCheck
from contracts import web_identity
from contracts.backend_client import close_shared_session
from contracts.settings import WebChatSettings
from contracts.web_identity import InvalidWebToken, TokenConfig, WebIdentity

log = logging.getLogger(__name__)

BOT_MESSAGE_EVENT = "bot_uttered"
SESSION_ENDED_EVENT = "session_ended"


class _AppCapturingBlueprint(SocketBlueprint):
    """Remembers the Sanic app it is registered on, to reach the agent's tracker store."""

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        self.ctx.app = app
        super().register(app, options)


class WebChatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        settings = WebChatSettings.from_environment()
        return cls(settings.tokens, settings.origins,
                   socketio_path=credentials.get("socketio_path", "/socket.io"),
                   session_check_seconds=settings.session_check_seconds)

    def __init__(self, tokens: TokenConfig, allowed_origins: frozenset[str],
                 socketio_path: str = "/socket.io", admission: Admission | None = None,
                 session_check: SessionCheck | None = None,
                 session_check_seconds: float = 15.0) -> None:
        self.admission = admission or Admission.from_environment()
        self.tokens = tokens
        self.allowed_origins = allowed_origins
        self.socketio_path = socketio_path
        self.sio: AsyncServer | None = None
        self.session_check = session_check or SessionCheck()
        self.session_check_seconds = session_check_seconds
        # Sockets opened with a portal session: socket id -> the identity token's contents.
        self._signed_in: dict[str, WebIdentity] = {}
        self._sweeping = False
        self.pushes = build_ledger("webchat")
        if tokens.is_development_secret:
            log.warning("WEB_IDENTITY_SECRET is the development default; set a secret in "
                        "production.")
        log.info("webchat: allowed origins %s", ", ".join(sorted(allowed_origins)))

    def get_output_channel(self) -> OutputChannel | None:
        """For pushes: to every open tab of the person (the sender's room); a closed widget
        shows it from the tracker at the next visit."""
        if self.sio is None:
            return None
        return PushOutput("webchat", SocketIOOutput(self.sio, BOT_MESSAGE_EVENT).send_response,
                          self.pushes)

    def _sender_for(self, auth: Any) -> tuple[str, WebIdentity | None, str | None]:
        """(sender id, verified identity, visitor token) for a connection's auth payload."""
        auth = auth if isinstance(auth, dict) else {}
        if auth.get("token"):
            identity = web_identity.verify_identity_token(self.tokens, auth["token"])
            return identity.identity, identity, None
        try:
            sender_id = web_identity.verify_anonymous_token(self.tokens, auth.get("visitor"))
        except InvalidWebToken:
            sender_id = web_identity.new_anonymous_sender()
        return sender_id, None, web_identity.issue_anonymous_token(self.tokens, sender_id)

    async def _session_holds(self, identity: WebIdentity | None) -> bool:
        if identity is None or identity.session_id is None:
            return True
        return await self.session_check.holds(identity.chat_identity, identity.session_id)

    async def _close_ended(self, sio: AsyncServer, sid: str) -> None:
        self._signed_in.pop(sid, None)
        await sio.emit(SESSION_ENDED_EVENT, {}, room=sid)
        await sio.disconnect(sid)

    async def _sweep(self, sio: AsyncServer) -> None:
        """Every WEB_SESSION_CHECK_SECONDS: close the sockets whose portal session has ended."""
        while True:
            await sio.sleep(self.session_check_seconds)
            by_session: dict[str, list[str]] = {}
            identities: dict[str, WebIdentity] = {}
            for sid, identity in list(self._signed_in.items()):
                if identity.session_id is not None:
                    by_session.setdefault(identity.session_id, []).append(sid)
                    identities[identity.session_id] = identity
            for session_id, sids in by_session.items():
                try:
                    holds = await self._session_holds(identities[session_id])
                except Exception:
                    log.exception("webchat: a session check failed")
                    continue
                if not holds:
                    for sid in sids:
                        await self._close_ended(sio, sid)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        # The Origin is checked by engine.io before any handshake (HTTP and WebSocket) and again
        # in `connect`, which also refuses requests that carry no Origin at all.
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=sorted(self.allowed_origins),
                          max_http_buffer_size=self.admission.settings.max_request_bytes)
        blueprint = _AppCapturingBlueprint(sio, self.socketio_path, "webchat_webhook", __name__)
        self.sio = sio
        at_shutdown(blueprint, close_shared_session)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect")
        async def connect(sid: str, environ: dict, auth: Any = None) -> None:
            if not web_identity.origin_allowed(environ.get("HTTP_ORIGIN"), self.allowed_origins):
                raise Refused("origin_not_allowed")
            try:
                sender_id, identity, visitor_token = self._sender_for(auth)
            except InvalidWebToken as error:
                log.info("webchat: refused a connection with an invalid token (%s)", error)
                raise Refused("invalid_token") from None
            if not await self._session_holds(identity):
                raise Refused("session_ended")
            await sio.save_session(sid, {
                "sender_id": sender_id, "web_identity": identity,
                "identity": None if identity is None else identity.chat_identity,
                "visitor_token": visitor_token})
            if identity is not None and identity.session_id is not None:
                self._signed_in[sid] = identity
                if not self._sweeping:
                    self._sweeping = True
                    sio.start_background_task(self._sweep, sio)
            await sio.enter_room(sid, sender_id)
            log.debug("webchat: %s connected as %s", sid,
                      "anonymous" if visitor_token else sender_id)

        @sio.on("disconnect")
        async def disconnect(sid: str, *_: Any) -> None:
            self._signed_in.pop(sid, None)

        @sio.on("session_request")
        async def session_request(sid: str, _data: Any = None) -> None:
            # Any session id the client proposes is ignored: the connection decided who it is.
            session = await sio.get_session(sid)
            history = await self._history(blueprint, session["sender_id"])
            await sio.emit("session_confirm", {
                "anonymous": session["visitor_token"] is not None,
                "visitor_token": session["visitor_token"],
                "history": history,
            }, room=sid)

        @sio.on("user_uttered")
        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message"), str):
                return
            text = data["message"].strip()
            if not text:
                return
            session = await sio.get_session(sid)
            if not await self._session_holds(session["web_identity"]):
                await self._close_ended(sio, sid)
                return
            sender_id = session["sender_id"]
            message_id = data.get("id") if isinstance(data.get("id"), str) else None

            async def echo_then_answer(message: UserMessage) -> None:
                # The widget shows the stored (redacted) text in place of what was typed.
                await sio.emit("user_echo", {"id": message_id, "text": message.text},
                               room=sender_id)
                await on_new_message(message)

            decision = await converse(self.admission, text, SocketIOOutput(sio, BOT_MESSAGE_EVENT),
                                      sender_id, self.name(), session["identity"],
                                      echo_then_answer)
            if not isinstance(decision, Admitted):
                await sio.emit("user_echo", {"id": message_id, "text": None}, room=sender_id)

        return blueprint

    async def _history(self, blueprint: _AppCapturingBlueprint,
                       sender_id: str) -> list[dict[str, Any]]:
        agent = getattr(getattr(blueprint.ctx, "app", None), "ctx", None)
        agent = getattr(agent, "agent", None)
        if agent is None or agent.tracker_store is None:
            return []
        try:
            tracker = await agent.tracker_store.retrieve(sender_id)
        except Exception:
            log.exception("webchat: could not load the history of a conversation")
            return []
        if tracker is None:
            return []
        return web_history.transcript(event.as_dict() for event in tracker.events)
