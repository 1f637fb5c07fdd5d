"""A person's direct messages with the bot over Slack's real protocol, for tests.e2e.chat's
`drive`, and the people of the conversations of tests/e2e that run over every channel
(tests.e2e.people) as Slack users of the demo organisation's workspace.

Words are sent as signed `message` events; a button's value (a message starting with "/") is
sent as the signed `block_actions` click Slack sends when it is pressed. The bot's posts of a
turn are read from the Slack stand-in once Rasa has saved the turn (its tracker ends with
`action_listen` after this message): the Slack output posts each message before that, so no
fixed wait is needed."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from backend.seed import DEMO_DOMAIN, DEMO_PEOPLE
from tests.channels.conftest import DEMO_TEAM, ChannelWorld
from tests.channels.test_slack_live import _click, _dm
from tests.e2e.backend_api import BackendApi
from tests.e2e.chat import REPLY_TIMEOUT_SECONDS, Button, Reply, Turn, Turns
from tests.e2e.people import People

POLL_SECONDS = 0.1


def reply_of(post: dict[str, Any]) -> Reply:
    """A Slack post as the chats' Reply: its text and its Block Kit buttons."""
    buttons = tuple(Button(element["text"]["text"], element["value"])
                    for block in post.get("blocks") or [] if block["type"] == "actions"
                    for element in block["elements"])
    return Reply(post.get("text") or "", buttons)


@dataclass
class SlackChat(Turns):
    world: ChannelWorld
    user: str
    team: str = DEMO_TEAM
    sender: str = ""
    turns: list[Turn] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sender = f"slack:{self.team}:{self.user}"

    @property
    def identity(self) -> str:
        return self.sender

    @property
    def conversation_id(self) -> str:
        return self.sender

    async def say(self, message: str, kind: str = "say") -> tuple[Reply, ...]:
        started = time.perf_counter()
        posts = await asyncio.to_thread(self._turn, message)
        replies = tuple(reply_of(post) for post in posts)
        self.turns.append(Turn(kind, message, replies, time.perf_counter() - started))
        return replies

    def _turn(self, message: str) -> list[dict[str, Any]]:
        channel = f"D{self.user}"
        before, heard = len(self.world.slack.posts_to(channel)), self._messages_heard()
        if message.startswith("/"):
            status = _click(self.world, self.user, message, team=self.team)[0]
        else:
            status = _dm(self.world, self.user, message, team=self.team)[0]
        assert status == 200, f"Slack's request for {message!r} was answered {status}"
        deadline = time.monotonic() + REPLY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            tracker = self.world.stack.tracker(self.conversation_id)
            if (self._messages_heard(tracker) > heard
                    and tracker.get("latest_action_name") == "action_listen"):
                return self.world.slack.posts_to(channel)[before:]
            time.sleep(POLL_SECONDS)
        posted = [post.get("text") for post in self.world.slack.posts_to(channel)[before:]]
        raise AssertionError(f"{self.user}: the turn for {message!r} did not end within "
                             f"{REPLY_TIMEOUT_SECONDS} s (posted meanwhile: {posted}):\n"
                             f"{self.transcript()}")

    def _messages_heard(self, tracker: dict[str, Any] | None = None) -> int:
        tracker = tracker or self.world.stack.tracker(self.conversation_id)
        return sum(event["event"] == "user" for event in tracker["events"])


# Someone outside the organisation's email domain: the backend cannot match them to a member
# until they redeem an invite, like a newcomer of the development channel.
NEWCOMERS_DOMAIN = "newcomers.example"


@dataclass
class SlackPeople(People):
    world: ChannelWorld
    http: aiohttp.ClientSession

    def __post_init__(self) -> None:
        self.stack = self.world.stack
        self.backend = BackendApi(self.http, self.stack.backend_url, self.stack.service_token)

    def demo(self, name: str) -> Turns:
        """The demo person, as a Slack user with their email in the demo workspace: a new user
        each time (one person may have several), so that each conversation starts anew and
        stays within the turns a minute the channel allows one identity."""
        person = next(p for p in DEMO_PEOPLE if p.sender == name)
        user = f"UDEMO{name.upper()}{uuid.uuid4().hex[:6].upper()}"
        self.world.slack.add_user(DEMO_TEAM, user, f"{name}@{DEMO_DOMAIN}", person.name)
        return SlackChat(self.world, user)

    def newcomer(self, role: str) -> Turns:
        suffix = uuid.uuid4().hex[:8]
        user = f"UNEW{suffix.upper()}"
        self.world.slack.add_user(DEMO_TEAM, user, f"{role}-{suffix}@{NEWCOMERS_DOMAIN}",
                                  f"{role.title()} Newcomer")
        return SlackChat(self.world, user)
