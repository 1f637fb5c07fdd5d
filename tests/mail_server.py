"""A real SMTP server for tests (aiosmtpd, in a thread), keeping the mails it receives."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests.stack import free_port

LINK = re.compile(r"https?://\S+/portal/sign-in\?token=[A-Za-z0-9_-]+")


@dataclass
class Inbox:
    host: str
    port: int
    mails: list[EmailMessage] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler hook
        mail = message_from_bytes(envelope.content, policy=policy.default)
        with self.arrived:
            self.mails.append(mail)  # type: ignore[arg-type]
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [mail for mail in self.mails if mail["To"] == address]

    def wait_for(self, address: str, count: int = 1, seconds: float = 10) -> EmailMessage:
        deadline = time.monotonic() + seconds
        with self.arrived:
            while len(self.to(address)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no mail to {address} within {seconds} s")
                self.arrived.wait(left)
        return self.to(address)[count - 1]

    def link_in(self, mail: EmailMessage) -> str:
        body = mail.get_body(("plain",))
        assert body is not None
        found = LINK.search(body.get_content())
        assert found, body.get_content()
        return found.group(0)

    def settings(self) -> dict[str, str]:
        """The backend's environment for sending here."""
        return {"SMTP_HOST": self.host, "SMTP_PORT": str(self.port), "SMTP_STARTTLS": "false",
                "SMTP_FROM": "Therapy sessions <no-reply@therapy.test>"}


def running_inbox() -> Iterator[Inbox]:
    inbox = Inbox("127.0.0.1", free_port())
    controller = Controller(inbox, hostname=inbox.host, port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    yield from running_inbox()
