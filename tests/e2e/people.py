"""The people of a conversation test, on one channel: the demo organisation's admin, its demo
members, and newcomers who have nothing yet but may redeem an invite.

A conversation written against `People` runs unchanged over every channel: `DevPeople` here
speak over the development REST channel of a stack with DEV_TRUST_SENDER; SlackPeople
(tests/channels/slack_chat.py) speak over Slack's signed protocol, known to the backend by the
workspace and their verified email as users of the real service are."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from tests.e2e.backend_api import BackendApi
from tests.e2e.chat import RestChat, Turns, new_sender
from tests.stack import Stack

ADMIN = "alice"  # the demo organisation's admin (backend/seed.py)
STAFF = "sam.lee@service.example"  # of the service's team: a stack's STAFF_EMAILS holds it


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
