"""What every connector does once its protocol is understood: receive, verify, redact, deliver.

- `user_message` is what Rasa gets from any connector: the text with card numbers replaced
  (PRODUCT.md rule 6: no card number reaches a tracker, a log or the backend) and, as metadata,
  only the identity the connector proved (never metadata the client sent).
- `WebhookInput` is the base of the connectors a platform calls over HTTP (Slack, Teams). A
  request is refused unless the channel is configured (503) and the protocol proves where it
  comes from (`accept`: 401, 403 or 400 by raising Refused); a delivery the platform retries is
  handled once; the platform gets its answer at once and the message is handled in the
  background: who speaks (`speaker`), what the backend says about them (a stranger is told once
  a day why the bot cannot act for them), then the redacted text goes to Rasa.
The website widget (socket.io, channels/webchat.py) verifies at connection time and uses
`user_message`; so does the development REST channel.
"""

from __future__ import annotations

import logging
from abc import ABCMeta, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.dedupe import BackgroundTasks, Deduplicator
from channels.identity import IdentityClient, Notices, VerifiedUser
from contracts.backend_client import close_shared_session
from contracts.identity import ChatIdentity
from contracts.redaction import redact_card_numbers

log = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def redacted(text: str, channel: str) -> str:
    """The text with every card number replaced by the placeholder the bot understands."""
    redaction = redact_card_numbers(text)
    if redaction.cards:
        log.info("Redacted %d card number(s) from a %s message.", redaction.cards, channel)
    return redaction.text


def user_message(text: str, output: OutputChannel | None, sender_id: str, channel: str,
                 identity: ChatIdentity | None) -> UserMessage:
    """The message for Rasa: redacted text, and the proven identity as the only metadata."""
    return UserMessage(redacted(text, channel), output, sender_id, input_channel=channel,
                       metadata=identity.metadata() if identity else {})


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

    def __init__(self, dedupe: Deduplicator, identities: IdentityClient | None = None) -> None:
        self.dedupe = dedupe
        self.identities = identities or IdentityClient()
        self.notices = Notices()
        self.tasks = BackgroundTasks()

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
    def output_for(self, incoming: M) -> OutputChannel:
        """Where the replies go."""

    # --- The shared part -------------------------------------------------------------------

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        blueprint = Blueprint(f"{self.name()}_webhook", __name__)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @blueprint.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            return await self.receive(request, on_new_message)

        at_shutdown(blueprint, self.close)
        return blueprint

    async def close(self) -> None:
        await close_shared_session()

    async def receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        if self.missing_settings():
            return response.json({"error": f"the {self.title} channel is not configured"},
                                 status=503)
        try:
            accepted = await self.accept(request)
        except Refused as refusal:
            log.log(refusal.level, "Refused a %s request: %s", self.title, refusal.reason)
            return response.json({"error": refusal.answer}, status=refusal.status)
        if isinstance(accepted, HTTPResponse):
            return accepted
        first_time = await self.dedupe.first_time(accepted.dedupe_key)
        if first_time:
            self.tasks.spawn(self.deliver(accepted, on_new_message))
        return self.acknowledge(request, accepted, first_time)

    async def deliver(self, incoming: M, on_new_message: OnNewMessage) -> None:
        try:
            user = await self.speaker(incoming)
            if user is None:
                return
            sender_id = str(user.identity)
            output = self.output_for(incoming)
            notice = self.notices.due(await self.identities.verify(user), sender_id)
            if notice:
                await output.send_response(sender_id, {"text": notice})
            await on_new_message(user_message(incoming.text, output, sender_id, self.name(),
                                              user.identity))
        except Exception:
            log.exception("Handling %s message %s failed", self.title, incoming.dedupe_key)
