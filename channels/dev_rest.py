"""A REST channel for development and tests: POST /webhooks/dev_rest/webhook.

Body: {"sender": "alice", "message": "hi"}. Card numbers are redacted before Rasa sees the text.
Identity: only when the environment says DEV_TRUST_SENDER=true (development on one machine) is
the sender trusted as the chat identity "dev:<sender>". Otherwise the message is anonymous.
Metadata sent by the client is always ignored, so nobody can claim an identity by writing it into
the request.
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.rest import RestInput
from sanic.request import Request

from channels.verified_input import redacted
from contracts import identity
from contracts.settings import DevRestSettings


def identity_metadata(sender: str | None, trusted: bool) -> dict[str, Any]:
    """The metadata actions read the identity from (see contracts/identity.py)."""
    if not trusted or not sender:
        return {}
    return identity.dev(sender).metadata()


class DevRestInput(RestInput):
    def __init__(self, settings: DevRestSettings | None = None) -> None:
        self.settings = settings or DevRestSettings.from_environment()

    @classmethod
    def name(cls) -> str:
        return "dev_rest"

    def _extract_message(self, req: Request) -> str | None:
        text = super()._extract_message(req)
        return redacted(text, self.name()) if isinstance(text, str) else text

    def get_metadata(self, request: Request) -> dict[str, Any]:
        sender = (request.json or {}).get("sender")
        return identity_metadata(sender if isinstance(sender, str) else None,
                                 self.settings.trust_sender)
