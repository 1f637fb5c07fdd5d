"""The dispatcher's way into a conversation: Rasa's authenticated HTTP API.

One push is one `POST /conversations/{id}/tracker/events?output_channel=<channel>
&execute_side_effects=true` with the slots it sets and one bot event (contracts/push.py): Rasa
adds them to the tracker under the conversation's lock, sends the bot event through the
channel's output (channels/push.py) and saves the tracker. A failed send answers 500 and saves
nothing, so the push is tried again whole. When an earlier attempt's answer never came back, the
tracker is read first: a push key already in it was delivered.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import quote

import aiohttp

from backend.services.outbox.deliveries import Push
from contracts import push as push_format
from contracts.identity import ChatIdentity

TIMEOUT_SECONDS = 30


class DeliveryError(Exception):
    """The push did not go through; the message says why (kept as the delivery's last error)."""


class Undeliverable(DeliveryError):
    """The identity has no channel a push can reach."""


class RasaConversations:
    def __init__(self, base_url: str, token: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session = session

    def _url(self, identity: ChatIdentity, suffix: str) -> str:
        conversation = quote(push_format.conversation_id(identity), safe="")
        return f"{self.base_url}/conversations/{conversation}/{suffix}"

    async def already_pushed(self, push: Push) -> bool:
        identity = ChatIdentity.parse(push.identity)
        tracker = await self._call("GET", self._url(identity, "tracker"),
                                   params={"include_events": "ALL"})
        return push.dedupe_key in push_format.pushed_keys(tracker or {})

    async def push(self, push: Push) -> None:
        identity = ChatIdentity.parse(push.identity)
        channel = push_format.output_channel(identity)
        if channel is None:
            raise Undeliverable(f"no channel pushes to {identity.channel} identities")
        # Stamped now, when it lands: Rasa reads a conversation from its latest session start
        # by time, so a push stamped when it was written (before a session the push itself
        # starts, or a retry's) would be stored and never read, its slots lost.
        stamp = time.time()
        events = [*push_format.slot_events(push.slots, stamp),
                  push_format.bot_event(push.text, push.buttons, push.dedupe_key, push.kind,
                                        stamp)]
        await self._call("POST", self._url(identity, "tracker/events"), json=events,
                         params={"output_channel": channel, "execute_side_effects": "true"})

    async def _call(self, method: str, url: str, **options) -> dict | None:
        params = {**options.pop("params", {}), "token": self.token}
        try:
            async with self.session.request(
                    method, url, params=params, **options,
                    timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)) as answer:
                if answer.status >= 300:
                    body = (await answer.text())[:300]
                    raise DeliveryError(f"Rasa answered {answer.status}: {body}")
                return await answer.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise DeliveryError(f"Rasa unreachable: {error!r}") from None
