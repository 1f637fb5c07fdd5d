"""What every connector does once its protocol is understood: receive, verify, admit, deliver.

- `read_body` reads a request's body only up to CHAT_MAX_REQUEST_BYTES (a larger one is
  refused with 413 before it is read or parsed); the routes that use it are streaming routes, so
  that Sanic does not read the body first.
- `converse` is how every connector hands a message on: channels/admission.py decides (length,
  turns a minute, the risk check, card numbers redacted: PRODUCT.md rule 6, no card number
  reaches a tracker, a log or the backend); an answer the channel gives itself goes to the
  output, an admitted text goes to Rasa with, as metadata, only the identity the connector
  proved (never metadata the client sent). A turn the bot ends without a word (a custom action
  failed: the action server is down) gets UNANSWERED, never silence; a turn the bot keeps
  quiet on purpose (the member's message went to the team) says so (contracts/push.py).
- `WebhookInput` is the base of the connectors a platform calls over HTTP (Slack, Teams). A
  request is refused unless the channel is configured (503), small enough (413) and the protocol
  proves where it comes from (`accept`: 401, 403 or 400 by raising Refused); a delivery the
  platform retries is handled once; the message is written to the durable inbox
  (channels/inbox.py) before the platform gets its answer, then handled in the background: who
  speaks (`speaker`), what the backend says about them (a stranger is told once a day why the
  bot cannot act for them), then `converse`, and marked done. At start the server handles what
  the inbox still holds undone; at shutdown it waits up to CHAT_DRAIN_SECONDS for the messages
  in hand (what is cut short stays undone, for the next start); every CHAT_INBOX_SWEEP_SECONDS
  it takes over what another server left in hand too long (a lease, channels/inbox.py). When
  the inbox cannot keep a message (its Redis or file down) the message is still handled, only
  not durably, and each retry of it that reaches this server is ignored: an answer now (a crisis
  answer above all) over a refusal that the platform retries until the inbox is back.
The website widget (socket.io, channels/webchat.py) verifies at connection time and uses
`converse`; so does the development REST channel.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
from abc import ABCMeta, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.admission import (
    UNANSWERED,
    Admission,
    Admitted,
    Answered,
    RiskScan,
    scan_for_risk,
)
from channels.dedupe import BackgroundTasks, Deduplicator, TTLSet
from channels.identity import IdentityClient, Notices, VerifiedUser
from channels.inbox import Inbox, build_inbox
from contracts.backend_client import close_shared_session
from contracts.identity import ChatIdentity
from contracts.push import is_quiet_turn
from contracts.settings import InboxSettings

log = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class RequestTooLarge(Exception):
    pass


def too_large_response(max_bytes: int) -> HTTPResponse:
    return response.json({"error": f"request too large (at most {max_bytes} bytes)"},
                         status=413)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body of a streaming route's request; RequestTooLarge past `max_bytes`."""
    declared = request.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise RequestTooLarge(declared)
    if request.stream is not None:
        request.stream.request_max_size = max_bytes  # checked by Sanic as chunks arrive
    try:
        await request.receive_body()
    except PayloadTooLarge:
        raise RequestTooLarge("chunked") from None
    return request.body or b""


async def converse(admission: Admission, text: str, output: OutputChannel, sender_id: str,
                   channel: str, identity: ChatIdentity | None,
                   on_new_message: OnNewMessage, message_id: str | None = None,
                   scan: RiskScan | None = None) -> Admitted | Answered:
    """Hand a message on: the channel's own answer to `output`, or the admitted text to Rasa
    (with the proven identity as the only metadata). `message_id`, the platform's id of the
    message, makes a redelivery the same user message (the actions' idempotency keys); `scan`
    is the message's risk scan when the channel has made it already."""
    decision = await admission.admit(text, sender_id, scan)
    if isinstance(decision, Answered):
        await output.send_response(sender_id, {"text": decision.answer})
        return decision
    watched = WatchedOutput(output)
    try:
        await on_new_message(UserMessage(decision.text, watched, sender_id, input_channel=channel,
                                         metadata=identity.metadata() if identity else {},
                                         message_id=message_id))
    finally:
        if not watched.spoke:
            await say_unanswered(output, sender_id)
    return decision


async def say_unanswered(output: OutputChannel, sender_id: str) -> None:
    log.warning("The bot gave %s no answer (see the errors above); told them to try again",
                sender_id)
    try:
        await output.send_response(sender_id, {"text": UNANSWERED})
    except Exception:
        log.exception("Could not tell %s that their message went unanswered", sender_id)


class WatchedOutput(OutputChannel):
    """Passes every message on to `inner` and notes whether the bot said anything.

    Rasa keeps a conversation going when a custom action fails (the action server is down or
    restarting): it logs the error and the person hears nothing. Never silence in a chat: a turn
    that ends without a word gets UNANSWERED."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.spoke = False

    def name(self) -> str:  # type: ignore[override]  # Rasa asks the instance; responses per channel
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.spoke = True
        if not is_quiet_turn(message):  # a quiet turn is an answer of its own: nothing to say
            await self.inner.send_response(recipient_id, message)


Receive = Callable[[Request, OnNewMessage], Awaitable[HTTPResponse]]


def webhook_blueprint(name: str, receive: Receive, on_new_message: OnNewMessage) -> Blueprint:
    """A channel's routes: GET / (health) and POST /webhook, streamed so that `receive` can
    refuse an oversized body before reading it."""
    blueprint = Blueprint(f"{name}_webhook", __name__)

    @blueprint.route("/", methods=["GET"])
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @blueprint.route("/webhook", methods=["POST"], stream=True)
    async def webhook(request: Request) -> HTTPResponse:
        return await receive(request, on_new_message)

    return blueprint


def at_shutdown(blueprint: Blueprint, close: Callable[[], Awaitable[None]]) -> None:
    """Run `close` when the server stops (to close the connections a connector keeps)."""

    async def listener(*_: Any) -> None:
        await close()

    blueprint.listener("after_server_stop")(listener)


class Refused(Exception):
    """A request the connector will not handle: `answer` is all the caller learns; `reason` is
    for the log."""

    def __init__(self, status: int, answer: str, reason: str, level: int = logging.WARNING):
        super().__init__(reason)
        self.status = status
        self.answer = answer
        self.reason = reason
        self.level = level


class Incoming(Protocol):
    """What a protocol's parser gives for something a person said or clicked."""

    @property
    def dedupe_key(self) -> str: ...

    @property
    def text(self) -> str: ...


M = TypeVar("M", bound=Incoming)


class WebhookInput(InputChannel, Generic[M], metaclass=ABCMeta):
    title: ClassVar[str]  # the platform's name in log lines and answers ("Slack")
    incoming_type: ClassVar[type]  # the protocol's message dataclass, kept in the inbox

    def __init__(self, dedupe: Deduplicator, identities: IdentityClient | None = None,
                 admission: Admission | None = None, inbox: Inbox | None = None) -> None:
        self.dedupe = dedupe
        self.identities = identities or IdentityClient()
        self.admission = admission or Admission.from_environment()
        self.notices = Notices()
        self.tasks = BackgroundTasks()
        inbox_settings = InboxSettings.from_environment()
        self.inbox = inbox or build_inbox(inbox_settings)
        self.sweep_seconds = inbox_settings.sweep_seconds
        self.drain_seconds = float(os.environ.get("CHAT_DRAIN_SECONDS") or 20)
        self._sweeper: asyncio.Task[None] | None = None
        # Messages handled while the inbox could not keep them: retries seen here, once.
        self.unkept = TTLSet(ttl=3600)

    # --- The protocol: what each connector implements -------------------------------------

    @abstractmethod
    def missing_settings(self) -> list[str]:
        """The variables the connector needs and does not have."""

    @abstractmethod
    async def accept(self, request: Request) -> M | HTTPResponse:
        """Verify and parse a request: a message to handle, an answer that ends the request
        here (a URL check, an event that is no message), or Refused."""

    @abstractmethod
    def acknowledge(self, request: Request, incoming: M, first_time: bool) -> HTTPResponse:
        """The platform's answer to an accepted message (`first_time` False: a retry)."""

    @abstractmethod
    async def speaker(self, incoming: M) -> VerifiedUser | None:
        """Who said it (None: nobody the bot answers, e.g. a deactivated account)."""

    @abstractmethod
    async def output_for(self, incoming: M) -> OutputChannel | None:
        """Where the replies go: a private conversation with the speaker. None: the connector
        has answered where it was said (a shared channel) and the bot does not run."""

    # --- The shared part -------------------------------------------------------------------

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        blueprint = webhook_blueprint(self.name(), self.receive, on_new_message)

        async def resume(*_: Any) -> None:
            try:
                await self.resume_undone(on_new_message, at_start=True)
            except Exception:  # the inbox unreachable: start all the same, the sweeps retry
                log.exception("Could not read the %s inbox at start", self.title)
            self._sweeper = asyncio.create_task(self.sweep(on_new_message))

        async def drain(*_: Any) -> None:
            if self._sweeper is not None:
                self._sweeper.cancel()
            await self.drain()

        blueprint.listener("after_server_start")(resume)
        blueprint.listener("before_server_stop")(drain)
        at_shutdown(blueprint, self.close)
        return blueprint

    async def close(self) -> None:
        await close_shared_session()

    # --- The durable inbox -----------------------------------------------------------------

    async def keep(self, incoming: M) -> bool:
        """Write the message to the inbox (before the platform's 200); False if it was kept
        already (a retried delivery)."""
        payload = json.dumps(dataclasses.asdict(incoming))  # type: ignore[call-overload]
        return await asyncio.to_thread(self.inbox.put, self.name(), incoming.dedupe_key,
                                       payload)

    def handle(self, incoming: M, on_new_message: OnNewMessage, kept: bool = True) -> None:
        """Handle a message in the background; a kept one is marked done once handled."""

        async def handle_and_mark() -> None:
            await self.deliver(incoming, on_new_message)
            if kept:
                await asyncio.to_thread(self.inbox.done, self.name(), incoming.dedupe_key)

        self.tasks.spawn(handle_and_mark())

    async def first_time(self, key: str) -> bool:
        """Whether no server has taken this message yet. When the shared memory cannot be asked,
        yes: handling a retried delivery twice is better than answering nobody."""
        try:
            return await self.dedupe.first_time(key)
        except Exception:
            log.exception("Could not ask whether %s message %s was handled; handling it",
                          self.title, key)
            return True

    async def resume_undone(self, on_new_message: OnNewMessage, at_start: bool = False) -> int:
        """Handle what was acknowledged and is not being handled: at start, what this server
        held when it stopped; at any time, what a server dropped (its lease ran out)."""
        undone = await asyncio.to_thread(self.inbox.claim_undone, self.name(),
                                         at_start=at_start)
        for key, payload in undone:
            log.info("Handling %s message %s, kept and not handled (%s)", self.title, key,
                     "before the last stop" if at_start else "its lease ran out")
            self.handle(self.incoming_type(**json.loads(payload)), on_new_message)
        return len(undone)

    async def sweep(self, on_new_message: OnNewMessage) -> None:
        """Every `sweep_seconds`: take over the messages a stopped server left in hand."""
        while True:
            await asyncio.sleep(self.sweep_seconds)
            try:
                await self.resume_undone(on_new_message)
            except Exception:  # the inbox unreachable for a while: the next sweep tries again
                log.exception("Sweeping the %s inbox failed", self.title)

    async def drain(self) -> None:
        """At shutdown: let the messages in hand finish, up to `drain_seconds`."""
        left = await self.tasks.drain(self.drain_seconds)
        if left:
            log.warning("%d %s message(s) still in hand at shutdown; handled at next start",
                        left, self.title)

    async def receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        if self.missing_settings():
            return response.json({"error": f"the {self.title} channel is not configured"},
                                 status=503)
        max_bytes = self.admission.settings.max_request_bytes
        try:
            await read_body(request, max_bytes)
        except RequestTooLarge as too_large:
            log.warning("Refused a %s request over %d bytes (%s)", self.title, max_bytes,
                        too_large)
            return too_large_response(max_bytes)
        try:
            accepted = await self.accept(request)
        except Refused as refusal:
            log.log(refusal.level, "Refused a %s request: %s", self.title, refusal.reason)
            return response.json({"error": refusal.answer}, status=refusal.status)
        if isinstance(accepted, HTTPResponse):
            return accepted
        try:
            kept = await self.keep(accepted)
        except Exception:
            # The inbox is down. Refusing (so that the platform delivers it again) would leave
            # the person unanswered, a risk message too, for as long as the inbox stays down:
            # handle it now, only not durably (a crash before the answer loses it).
            log.exception("Could not keep %s message %s; handling it without the inbox",
                          self.title, accepted.dedupe_key)
            first_time = (self.unkept.add(accepted.dedupe_key)
                          and await self.first_time(accepted.dedupe_key))
            if first_time:
                self.handle(accepted, on_new_message, kept=False)
            return self.acknowledge(request, accepted, first_time)
        first_time = kept and await self.first_time(accepted.dedupe_key)
        if first_time:
            self.handle(accepted, on_new_message)
        return self.acknowledge(request, accepted, first_time)

    async def deliver(self, incoming: M, on_new_message: OnNewMessage) -> None:
        try:
            user = await self.speaker(incoming)
            if user is None:
                return
            sender_id = str(user.identity)
            output = await self.output_for(incoming)
            if output is None:
                return
            # A risk message gets the crisis answer first, waiting for nothing: the backend links
            # the person afterwards, and a notice of why it cannot waits for a later message.
            scan = await scan_for_risk(incoming.text, self.admission.settings.max_message_chars)
            if not scan.found:
                notice = self.notices.due(await self.identities.verify(user), sender_id)
                if notice:
                    await output.send_response(sender_id, {"text": notice})
            await converse(self.admission, incoming.text, output, sender_id, self.name(),
                           user.identity, on_new_message, message_id=incoming.dedupe_key,
                           scan=scan)
            if scan.found:
                await self.identities.verify(user)
        except Exception:
            log.exception("Handling %s message %s failed", self.title, incoming.dedupe_key)
