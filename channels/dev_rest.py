"""A REST channel for development and tests: POST /webhooks/dev_rest/webhook.

Body: {"sender": "alice", "message": "hi"}. Card numbers are redacted before Rasa sees the text.
Identity: only when the environment says DEV_TRUST_SENDER=true (development on one machine) is
the sender trusted as the chat identity "dev:<sender>". Otherwise the message is anonymous.
Metadata sent by the client is always ignored, so nobody can claim an identity by writing it into
the request.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from rasa.core.channels.rest import RestInput
from sanic.request import Request

from channels.redaction import redact_card_numbers

log = logging.getLogger(__name__)

TRUST_ENV = "DEV_TRUST_SENDER"


def trust_sender() -> bool:
    return os.environ.get(TRUST_ENV, "").strip().lower() in {"1", "true", "yes"}


def identity_metadata(sender: str | None, trusted: bool) -> dict[str, Any]:
    """The metadata actions read the identity from (see bot/actions/identity.py)."""
    if not trusted or not sender:
        return {}
    return {"identity": f"dev:{sender}"}


class DevRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "dev_rest"

    def _extract_message(self, req: Request) -> str | None:
        text = super()._extract_message(req)
        if not isinstance(text, str):
            return text
        redacted = redact_card_numbers(text)
        if redacted.count:
            log.info("Redacted %d card number(s) from an incoming message.", redacted.count)
        return redacted.text

    def get_metadata(self, request: Request) -> dict[str, Any]:
        sender = (request.json or {}).get("sender")
        return identity_metadata(sender if isinstance(sender, str) else None, trust_sender())
