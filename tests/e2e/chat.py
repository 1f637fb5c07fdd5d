"""Conversations with the Rasa server over the development REST channel, driven by what it offers.

    async with aiohttp.ClientSession() as session:
        chat = RestChat(session, stack.rasa_url, "someone")
        await chat.say("find a therapist", kind="search")
        replies = await drive(chat, member_booking_steps(), done=mentions(r"Requested:"))

`drive` answers the bot's latest replies with the first `Step` that applies: pressing one of the
buttons it offers (chosen by the button's payload, not its wording) or answering a question it
recognises, until `done` holds. Wording is matched only where no button exists. Used by the
end-to-end tests and by benchmarks/load.py (which times each turn by its `kind`).
"""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

WEBHOOK = "/webhooks/dev_rest/webhook"
INVITE_CODE = re.compile(r"\b[A-Z0-9]{5}-[A-Z0-9]{5}\b")
REPLY_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    @property
    def intent(self) -> str:
        return self.payload.lstrip("/").split("{", 1)[0]

    @property
    def entities(self) -> dict[str, Any]:
        _, brace, rest = self.payload.partition("{")
        return json.loads(brace + rest) if brace else {}


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()

    @classmethod
    def from_json(cls, message: dict[str, Any]) -> Reply:
        return cls(text=message.get("text") or "",
                   buttons=tuple(Button(b.get("title", ""), b.get("payload", ""))
                                 for b in message.get("buttons") or []))


@dataclass(frozen=True)
class Turn:
    kind: str
    sent: str
    replies: tuple[Reply, ...]
    seconds: float


class ConversationStuck(AssertionError):
    """The bot said something no step knows how to answer (the transcript is the message)."""


class Turns:
    """A conversation with the bot: what it has said and heard (`sender`, `turns`), read back,
    and `say`/`press` to go on. The base of the chats `drive` talks through: here over the
    development REST channel, in tests/channels/slack_chat.py over Slack."""

    sender: str
    turns: list[Turn]

    @property
    def identity(self) -> str:
        """Who the backend sees speaking ("dev:alice", "slack:T1:U2")."""
        raise NotImplementedError

    @property
    def conversation_id(self) -> str:
        """Rasa's sender id of this conversation (its tracker's name)."""
        raise NotImplementedError

    async def say(self, message: str, kind: str = "say") -> tuple[Reply, ...]:
        """Send `message` (a button's payload when it starts with "/"); the bot's replies."""
        raise NotImplementedError

    async def press(self, button: Button, kind: str = "button") -> tuple[Reply, ...]:
        return await self.say(button.payload, kind)

    def sent(self, kind: str) -> dict[str, Any]:
        """The entities of the first button pressed in a turn of this kind."""
        turn = next(t for t in self.turns if t.kind == kind)
        return Button("", turn.sent).entities

    def replies_to(self, kind: str) -> tuple[Reply, ...]:
        return next(t for t in self.turns if t.kind == kind).replies

    @property
    def replies(self) -> tuple[Reply, ...]:
        return self.turns[-1].replies if self.turns else ()

    def transcript(self) -> str:
        lines = []
        for turn in self.turns:
            lines.append(f"[{turn.kind}] {self.sender}> {turn.sent}")
            for reply in turn.replies:
                lines.append(f"  bot> {reply.text}")
                lines += [f"       [{b.title}] {b.payload}" for b in reply.buttons]
        return "\n".join(lines)


@dataclass
class RestChat(Turns):
    """One sender's conversation: every message and the bot's replies, with their latency."""

    session: aiohttp.ClientSession
    rasa_url: str
    sender: str
    timeout: float = REPLY_TIMEOUT_SECONDS
    turns: list[Turn] = field(default_factory=list)
    webhook: str = WEBHOOK  # Rasa's own REST channel: /webhooks/rest/webhook

    @property
    def identity(self) -> str:
        return f"dev:{self.sender}"  # trusted as such by a stack with DEV_TRUST_SENDER

    @property
    def conversation_id(self) -> str:
        return self.sender

    async def say(self, message: str, kind: str = "say") -> tuple[Reply, ...]:
        started = time.perf_counter()
        async with self.session.post(
                f"{self.rasa_url}{self.webhook}", json={"sender": self.sender, "message": message},
                timeout=aiohttp.ClientTimeout(total=self.timeout)) as answer:
            answer.raise_for_status()
            body = await answer.json()
        replies = tuple(Reply.from_json(m) for m in body)
        self.turns.append(Turn(kind, message, replies, time.perf_counter() - started))
        return replies



# --- Reading replies -------------------------------------------------------------------------


def new_sender(role: str) -> str:
    """A fresh dev-channel sender id, so that each test's conversation starts anew."""
    return f"e2e-{role}-{uuid.uuid4().hex[:8]}"


def text_of(replies: tuple[Reply, ...]) -> str:
    return "\n".join(reply.text for reply in replies)


def buttons_of(replies: tuple[Reply, ...]) -> list[Button]:
    return [button for reply in replies for button in reply.buttons]


def offered(replies: tuple[Reply, ...], entity: str) -> list[Button]:
    """The buttons that would set `entity` (e.g. every therapist offered, every time offered);
    not "Book it, I'll pay", which names a therapist and a time to book them."""
    return [b for b in buttons_of(replies)
            if entity in b.entities and b.intent != "book_self_paid"]


def button_for(replies: tuple[Reply, ...], intent: str) -> Button | None:
    return next((b for b in buttons_of(replies) if b.intent == intent), None)


def offers(intent: str) -> Callable[[tuple[Reply, ...]], bool]:
    return lambda replies: button_for(replies, intent) is not None


def mentions(pattern: str) -> Callable[[tuple[Reply, ...]], bool]:
    return lambda replies: re.search(pattern, text_of(replies), re.IGNORECASE) is not None


def invite_code_in(replies: tuple[Reply, ...]) -> str | None:
    found = INVITE_CODE.search(text_of(replies))
    return found.group(0) if found else None


# --- Answering -------------------------------------------------------------------------------

Answer = Callable[[tuple[Reply, ...]], str | None]
Choose = Callable[[list[Button]], Button]


@dataclass(frozen=True)
class Step:
    """`answer(replies)` is the message to send, or None when this step does not apply."""

    kind: str
    answer: Answer


def first(buttons: list[Button]) -> Button:
    return buttons[0]


def press_offered(kind: str, entity: str, value: str | None = None,
                  choose: Choose = first) -> Step:
    """Press a button setting `entity` (to `value` if given), picked among them by `choose`."""
    def answer(replies: tuple[Reply, ...]) -> str | None:
        buttons = [b for b in offered(replies, entity)
                   if value is None or b.entities[entity] == value]
        return choose(buttons).payload if buttons else None
    return Step(kind, answer)


def press_intent(kind: str, intent: str) -> Step:
    def answer(replies: tuple[Reply, ...]) -> str | None:
        button = button_for(replies, intent)
        return button.payload if button else None
    return Step(kind, answer)


def last_text(replies: tuple[Reply, ...]) -> str:
    """The text of the bot's last reply that has any."""
    return next((r.text for r in reversed(replies) if r.text), "")


def when_asked(kind: str, question: str, message: str) -> Step:
    """Answer `message` when the bot's last reply matches the regex `question`."""
    def answer(replies: tuple[Reply, ...]) -> str | None:
        last = last_text(replies)
        return message if re.search(question, last, re.IGNORECASE) else None
    return Step(kind, answer)


async def drive(chat: Turns, steps: list[Step],
                done: Callable[[tuple[Reply, ...]], bool], max_turns: int = 12
                ) -> tuple[Reply, ...]:
    """Answer the bot with the first applicable step until `done(latest replies)` holds."""
    for _ in range(max_turns):
        replies = chat.replies
        if done(replies):
            return replies
        for step in steps:
            message = step.answer(replies)
            if message is not None:
                await chat.say(message, step.kind)
                break
        else:
            raise ConversationStuck(f"No step answers the bot:\n{chat.transcript()}")
    if done(chat.replies):
        return chat.replies
    raise ConversationStuck(f"Not done after {max_turns} turns:\n{chat.transcript()}")


# --- The conversations of PRODUCT.md this project tests and benchmarks -----------------------


def authorisation_steps(coverage: str = "first_relationship", sessions: str = "seven sessions",
                        users: str = "unlimited", access: str = "invite_only") -> list[Step]:
    """An admin answering the authorisation form, whatever order it asks in, then confirming."""
    return [
        press_offered("coverage", "coverage", coverage),
        press_offered("access", "access", access),
        press_intent("confirm", "affirm"),
        when_asked("sessions", r"how many sessions", sessions),
        when_asked("users", r"how many (people|users)", users),
    ]


def invite_steps() -> list[Step]:
    """An admin creating an invite for the authorisation just made, not tied to an email,
    expiring after the usual days."""
    return [
        press_intent("invite", "create_invite"),
        press_offered("invite_expiry", "invite_expiry_days", "usual"),
        when_asked("invite_email", r"email", "no"),
    ]


def member_booking_steps(choose_therapist: Choose = first, choose_slot: Choose = first
                         ) -> list[Step]:
    """A member who has given the search filters: picks a therapist and a time, books."""
    return [
        press_offered("pick_therapist", "therapist_id", choose=choose_therapist),
        press_offered("pick_slot", "slot_start", choose=choose_slot),
        press_intent("confirm", "affirm"),
        # Questions the filters in the first message may have left open.
        press_offered("modality", "modality", "video"),
        when_asked("issue", r"what would you like help with", "anxiety"),
        when_asked("when", r"when suits you", "any time"),
        take_suggestion("relax", r"couldn't find a therapist"),
        when_asked("other_therapists", r"no free times", "other therapists"),
    ]


def take_suggestion(kind: str, question: str) -> Step:
    """Say the first thing in quotes ('any time') of the bot's last reply matching `question`."""
    def answer(replies: tuple[Reply, ...]) -> str | None:
        last = last_text(replies)
        suggested = (re.search(r"(?<!\w)'([^']+)'", last)  # not the apostrophe of "couldn't"
                     if re.search(question, last, re.I) else None)
        return suggested.group(1) if suggested else None
    return Step(kind, answer)


def random_choice(rng: random.Random) -> Choose:
    return lambda buttons: rng.choice(buttons)
