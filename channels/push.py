"""The output side of pushes: what the dispatcher sends reaches the person once.

Rasa sends a pushed bot event (contracts/push.py) through the output of the channel named in the
dispatcher's request (`get_output_channel()` of the input channel). `PushOutput` wraps each
channel's way of reaching a person unasked (a Slack DM, a Teams proactive message, the open
widget, the development channel's queue):
- a push key already sent is dropped (`PushLedger`: in memory, or Redis with
  CHAT_PUSH_REDIS_URL so several Rasa servers share it; kept CHAT_PUSH_TTL_SECONDS);
- a failed send raises, after forgetting the key: Rasa answers the dispatcher 500 without
  saving the event, and the dispatcher tries again later.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from channels.dedupe import build_deduplicator
from channels.output import WholeMessageOutput
from contracts.push import PUSH_KEY, PUSH_KIND, push_key_of

log = logging.getLogger(__name__)

REDIS_URL_ENV = "CHAT_PUSH_REDIS_URL"
TTL_ENV = "CHAT_PUSH_TTL_SECONDS"
DEFAULT_TTL_SECONDS = 7 * 24 * 3600

Send = Callable[[str, dict[str, Any]], Awaitable[None]]


class PushLedger(Protocol):
    async def first_time(self, key: str) -> bool: ...

    async def forget(self, key: str) -> None: ...


class PushFailed(RuntimeError):
    """The channel could not reach the person; the push is tried again later."""


def build_ledger(prefix: str) -> PushLedger:
    ttl = float(os.environ.get(TTL_ENV) or DEFAULT_TTL_SECONDS)
    ledger = build_deduplicator(os.environ.get(REDIS_URL_ENV) or None, ttl, f"push:{prefix}:")
    return ledger  # type: ignore[return-value]  # both deduplicators can forget


def message_only(message: dict[str, Any]) -> dict[str, Any]:
    """The bot message without the push's bookkeeping."""
    return {key: value for key, value in message.items() if key not in (PUSH_KEY, PUSH_KIND)}


class PushOutput(WholeMessageOutput):
    def __init__(self, name: str, send: Send, ledger: PushLedger) -> None:
        self._name = name
        self.send = send
        self.ledger = ledger

    @classmethod
    def name(cls) -> str:
        return "push"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        key = push_key_of(message)
        if key is not None and not await self.ledger.first_time(key):
            log.info("%s: push %s was already sent; not again", self._name, key)
            return
        try:
            await self.send(recipient_id, message_only(message))
        except Exception as error:
            if key is not None:
                await self.ledger.forget(key)
            log.warning("%s: push to %s failed: %r", self._name, recipient_id, error)
            raise PushFailed(f"{self._name} could not reach {recipient_id}: {error!r}") from error
