"""The people of a conversation test, on one channel: the demo organisation's admin, its demo
members, and newcomers who have nothing yet but may redeem an invite.

A conversation written against `People` runs unchanged over every channel: `DevPeople` here
speak over the development REST channel of a stack with DEV_TRUST_SENDER; SlackPeople
(tests/channels/slack_chat.py) speak over Slack's signed protocol, known to the backend by the
workspace and their verified email as users of the real service are."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tests.e2e.backend_api import BackendApi
from tests.e2e.chat import Button, RestChat, Turns, new_sender
from tests.stack import Stack

ADMIN = "alice"  # the demo organisation's admin (backend/seed.py)
STAFF = "sam.lee@service.example"  # of the service's team: a stack's STAFF_EMAILS holds it
PUSH_WITHIN_SECONDS = 30.0


class People:
    stack: Stack
    backend: BackendApi

    def admin(self) -> Turns:
        return self.demo(ADMIN)

    def demo(self, name: str) -> Turns:
        """A person of the demo data (backend/seed.py DEMO_PEOPLE), by first name: a
        conversation may go on from an earlier call's or start anew, depending on the channel."""
        raise NotImplementedError

    def newcomer(self, role: str) -> Turns:
        """Someone the organisation does not know yet: a fresh conversation each time."""
        raise NotImplementedError


Conversation = Callable[["People"], Awaitable[None]]


def each_over_people(conversations: Sequence[Conversation]) -> Callable[..., Awaitable[None]]:
    """A test holding each conversation, by its name, over the module's `people` fixture (one
    channel): `test_over_slack = each_over_people(CONVERSATIONS)`."""

    @pytest.mark.parametrize("conversation", conversations, ids=lambda c: c.__name__)
    async def test(conversation: Conversation, people: People) -> None:
        await conversation(people)

    return test


@dataclass
class DevPeople(People):
    stack: Stack
    http: aiohttp.ClientSession

    def __post_init__(self) -> None:
        self.backend = BackendApi(self.http, self.stack.backend_url, self.stack.service_token)

    def demo(self, name: str) -> Turns:
        return RestChat(self.http, self.stack.rasa_url, name)

    def newcomer(self, role: str) -> Turns:
        return RestChat(self.http, self.stack.rasa_url, new_sender(role))


async def push_saying(stack: Stack, chat: Turns, words: str) -> dict[str, Any]:
    """The message with these words the dispatcher pushed into the chat's conversation, once it
    has: read from Rasa's tracker, where a push is recorded on every channel."""
    def pushes() -> list[dict[str, Any]]:
        return [event for event in stack.tracker(chat.conversation_id)["events"]
                if event["event"] == "bot" and (event.get("metadata") or {}).get("push_key")]
    deadline = time.monotonic() + PUSH_WITHIN_SECONDS
    while time.monotonic() < deadline:
        said = next((event for event in pushes() if words in (event.get("text") or "")), None)
        if said is not None:
            return said
        await asyncio.sleep(0.3)
    raise AssertionError(f"no push saying {words!r}: {[e.get('text') for e in pushes()]}")


def buttons_of_push(event: dict[str, Any]) -> list[Button]:
    return [Button(b["title"], b["payload"]) for b in (event.get("data") or {}).get("buttons")
            or []]
