"""The past messages of a website conversation, rebuilt from its tracker events after a reload.

Input: tracker events as dictionaries (`event.as_dict()`); output: what the widget shows, oldest
first: {"sender": "user" | "bot", "text": str, "buttons": [{"title", "payload"}]}. A user message
that was a button's payload is shown as that button's title, as it was when the person clicked it.
No Rasa import, so it is unit-tested directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MAX_MESSAGES = 100
CHOSE_AN_OPTION = "(chose an option)"


def buttons_of(data: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """Buttons (or quick replies) of a bot message, as {"title", "payload"} strings."""
    if not isinstance(data, Mapping):
        return []
    raw = data.get("buttons") or data.get("quick_replies") or []
    buttons = []
    for button in raw if isinstance(raw, list) else []:
        if isinstance(button, Mapping) and button.get("title") and button.get("payload"):
            buttons.append({"title": str(button["title"]), "payload": str(button["payload"])})
    return buttons


def transcript(events: Iterable[Mapping[str, Any]],
               limit: int = MAX_MESSAGES) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    offered: dict[str, str] = {}  # payload -> title of the buttons last shown
    for event in events:
        kind = event.get("event")
        if kind == "bot":
            buttons = buttons_of(event.get("data"))
            if buttons:
                offered = {button["payload"]: button["title"] for button in buttons}
            text = event.get("text") or ""
            if text or buttons:
                messages.append({"sender": "bot", "text": str(text), "buttons": buttons})
        elif kind == "user":
            text = str(event.get("text") or "")
            if not text:
                continue
            if text in offered:
                text = offered[text]
            elif text.startswith("/"):
                text = CHOSE_AN_OPTION
            offered = {}
            messages.append({"sender": "user", "text": text, "buttons": []})
    return messages[-limit:] if limit else messages
