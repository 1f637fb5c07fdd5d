"""Small pieces several features use: buttons, the member's role, the directory vocabulary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, Protocol, TypeVar

from rasa_sdk import Tracker

from bot.actions.base import FormRefused
from contracts.answers import Me
from contracts.backend_client import BackendClient, BackendError
from contracts.settings import ActionSettings

TIMEZONE = ActionSettings.from_environment().service_timezone
MAX_BUTTONS = 8  # a choice among more is hard to take in at a glance
_vocabulary_cache: dict[str, list[str]] = {}


def payload(intent: str, **entities: Any) -> str:
    """A button payload that triggers `intent` with `entities` (all values as strings)."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps({k: str(v) for k, v in entities.items()})}"


def button(title: str, intent: str, **entities: Any) -> dict[str, str]:
    return {"title": title, "payload": payload(intent, **entities)}


class _Numbered(Protocol):
    @property
    def id(self) -> int: ...


Numbered = TypeVar("Numbered", bound=_Numbered)


def newest(items: Sequence[Numbered], another: str) -> tuple[list[Numbered], str]:
    """At most MAX_BUTTONS of `items`, the newest (the one just made is the likely choice), in
    the order of their numbers; and, when some are left out, a sentence saying so, ending with
    `another` (how to pick one of them)."""
    shown = sorted(items, key=lambda i: i.id)[-MAX_BUTTONS:]
    if len(shown) == len(items):
        return shown, ""
    return shown, f" Here are the newest {len(shown)} of {len(items)}; {another}"


def latest_text(tracker: Tracker) -> str:
    text = (tracker.latest_message or {}).get("text") or ""
    return "" if text.startswith("/") else text


def latest_entities(tracker: Tracker, entity: str) -> list[str]:
    return [str(e["value"]) for e in (tracker.latest_message or {}).get("entities", [])
            if e.get("entity") == entity and e.get("value") is not None]


async def require_admin(client: BackendClient, doing: str) -> Me:
    me = await client.me()
    if me.role != "admin":
        if me.organisation_id is None:
            raise FormRefused(f"To {doing}, your organisation needs to be registered first and "
                              "you need to be one of its admins. Say 'register my organisation' "
                              "to start, or ask your organisation's admin.")
        raise FormRefused(f"Only your organisation's admins can {doing}. Your admin can do it, "
                          "or add you as an admin.")
    return me


async def vocabulary(client: BackendClient) -> dict[str, list[str]]:
    """The directory's words (issues, locations, ...), fetched once per process."""
    if not _vocabulary_cache:
        try:
            _vocabulary_cache.update(asdict(await client.vocabulary()))
        except BackendError:
            return {}
    return _vocabulary_cache
