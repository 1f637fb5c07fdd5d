"""Who is speaking: only what the channel verified and attached to the latest user message.

Channels put the chat identity and the email they verified in the message metadata after
checking signatures (PRODUCT.md rule 8; the keys are in contracts/identity.py). The sender id is
never used: anyone can choose it.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from contracts.identity import ChatIdentity, from_metadata


def _latest_metadata(tracker: Tracker) -> dict[str, Any]:
    metadata = (tracker.latest_message or {}).get("metadata")
    if isinstance(metadata, dict) and metadata:
        return metadata
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            found = event.get("metadata")
            return found if isinstance(found, dict) else {}
    return {}


def identity_of(tracker: Tracker) -> ChatIdentity | None:
    return from_metadata(_latest_metadata(tracker))
