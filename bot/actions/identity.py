"""Who is speaking: only what the channel verified and attached to the latest user message.

Channels put {"identity": "<channel>:<id>", "verified_email": ...} in the message metadata after
checking signatures (PRODUCT.md rule 8). The sender id is never used: anyone can choose it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker


@dataclass(frozen=True)
class Identity:
    identity: str
    verified_email: str | None = None


def _latest_metadata(tracker: Tracker) -> dict[str, Any]:
    metadata = (tracker.latest_message or {}).get("metadata")
    if isinstance(metadata, dict) and metadata:
        return metadata
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            found = event.get("metadata")
            return found if isinstance(found, dict) else {}
    return {}


def identity_of(tracker: Tracker) -> Identity | None:
    metadata = _latest_metadata(tracker)
    identity = metadata.get("identity")
    if not isinstance(identity, str) or ":" not in identity.strip(":"):
        return None
    email = metadata.get("verified_email")
    return Identity(identity.strip(), email if isinstance(email, str) and email else None)
