"""A REST channel for development and tests: POST /webhooks/dev_rest/webhook.

Body: {"sender": "alice", "message": "hi"}; the answer is the list of the bot's messages, as
Rasa's REST channel gives it. A body over CHAT_MAX_REQUEST_BYTES is refused with 413 before it
is read, one that is not such an object with 400; the message then goes through
channels/admission.py like every channel's (too long, too fast, card numbers redacted).
Identity: only when the environment says DEV_TRUST_SENDER=true (development on one machine) is
the sender trusted as the chat identity "dev:<sender>". Otherwise the message is anonymous.
Metadata sent by the client is always ignored, so nobody can claim an identity by writing it into
the request.

Pushes (notifications the dispatcher sends through Rasa) wait in memory for the sender, at most
MAX_WAITING each, and are fetched by `GET /webhooks/dev_rest/pushes?sender=ben` (waiting up to
`wait` seconds, at most 30, for one to arrive; `make chat` prints them as they come). Like the
whole channel, development only: production refuses a credentials file that opens it
(contracts/deployment.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.admission import Admission
from channels.push import PushOutput, build_ledger
from channels.verified_input import (
    OnNewMessage,
    RequestTooLarge,
    converse,
    read_body,
    too_large_response,
    webhook_blueprint,
)
from contracts import identity
from contracts.identity import ChatIdentity
from contracts.settings import DevRestSettings

log = logging.getLogger(__name__)


def speaker(sender: str, trusted: bool) -> ChatIdentity | None:
    """The identity actions read (see contracts/identity.py), when the sender is trusted."""
    return identity.dev(sender) if trusted and sender else None


def parse_body(body: bytes) -> tuple[str, str]:
    """(sender, message) of a request body; ValueError saying what is wrong."""
    try:
        value = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError("the body is not JSON") from None
    if not isinstance(value, dict):
        raise ValueError("the body is not a JSON object")
    sender, message = value.get("sender"), value.get("message")
    if not isinstance(sender, str) or not sender.strip():
        raise ValueError('"sender" must be a non-empty string')
    if not isinstance(message, str):
        raise ValueError('"message" must be a string')
    return sender, message


MAX_WAITING = 100
MAX_WAIT_SECONDS = 30.0


class PushQueues:
    """The pushes waiting for each sender of the development channel."""

    def __init__(self) -> None:
        self._waiting: dict[str, list[dict[str, Any]]] = {}
        self._arrived: dict[str, asyncio.Event] = {}

    def _event(self, sender: str) -> asyncio.Event:
        return self._arrived.setdefault(sender, asyncio.Event())

    async def put(self, sender: str, message: dict[str, Any]) -> None:
        waiting = self._waiting.setdefault(sender, [])
        waiting.append(message)
        del waiting[:-MAX_WAITING]
        self._event(sender).set()

    async def take(self, sender: str, wait: float) -> list[dict[str, Any]]:
        if not self._waiting.get(sender) and wait > 0:
            arrived = self._event(sender)
            arrived.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(arrived.wait(), wait)
        return self._waiting.pop(sender, [])


class DevRestInput(InputChannel):
    def __init__(self, settings: DevRestSettings | None = None,
                 admission: Admission | None = None) -> None:
        self.settings = settings or DevRestSettings.from_environment()
        self.admission = admission or Admission.from_environment()
        self.queues = PushQueues()
        self.pushes = build_ledger("dev_rest")

    @classmethod
    def name(cls) -> str:
        return "dev_rest"

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        blueprint = webhook_blueprint(self.name(), self.receive, on_new_message)

        @blueprint.route("/pushes", methods=["GET"])
        async def pushes(request: Request) -> HTTPResponse:
            return await self.take_pushes(request)

        return blueprint

    def get_output_channel(self) -> OutputChannel | None:
        return PushOutput("dev_rest", self.queues.put, self.pushes)

    async def take_pushes(self, request: Request) -> HTTPResponse:
        sender = request.args.get("sender", "")
        try:
            wait = min(max(float(request.args.get("wait", "0")), 0.0), MAX_WAIT_SECONDS)
        except ValueError:
            return response.json({"error": '"wait" must be a number of seconds'}, status=400)
        if not sender.strip():
            return response.json({"error": '"sender" is required'}, status=400)
        return response.json(await self.queues.take(sender, wait))

    async def receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        max_bytes = self.admission.settings.max_request_bytes
        try:
            sender, message = parse_body(await read_body(request, max_bytes))
        except RequestTooLarge:
            return too_large_response(max_bytes)
        except ValueError as error:
            return response.json({"error": str(error)}, status=400)
        collector = CollectingOutputChannel()
        try:
            await converse(self.admission, message, collector, sender, self.name(),
                           speaker(sender, self.settings.trust_sender), on_new_message)
        except asyncio.CancelledError:
            log.error("dev_rest: the message of %s timed out", sender)
        except Exception:
            log.exception("dev_rest: handling the message of %s failed", sender)
        return response.json(collector.messages)

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        return None  # never what the client sent
