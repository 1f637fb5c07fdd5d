"""Action tests talk to the real backend (create_app on a temp SQLite file) over real HTTP."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from backend.api.app import create_app
from backend.db import Database
from backend.services import policies as backend_policies
from backend.settings import Settings
from bot.actions import policies
from contracts.backend_client import close_shared_session

TOKEN = "bot-test-token"
DOMAIN_FILE = Path(__file__).resolve().parents[2] / "bot" / "domain.yml"


def load_forms() -> dict[str, Any]:
    """The forms section of bot/domain.yml (the only part of the domain the actions read)."""
    text = DOMAIN_FILE.read_text()
    section = text.split("\nforms:\n", 1)[1].split("\n\n", 1)[0]
    return {name: {"required_slots": [s.strip() for s in slots.split(",")]}
            for name, slots in re.findall(r"^  (\w+):\n    required_slots: \[([^\]]*)\]",
                                          section, re.MULTILINE)}


DOMAIN: dict[str, Any] = {"forms": load_forms(), "slots": {}}


def backend_policies_json() -> dict[str, Any]:
    """What GET /policies answers with the default settings (as JSON, lists for tuples)."""
    return json.loads(json.dumps(dataclasses.asdict(backend_policies.describe(Settings()))))


# The words the bot reads free text with: the backend's, never a copy in the tests.
WORDS = policies.Policies.from_json(backend_policies_json()).words


def make_tracker(identity: str | None = "test:someone", *, text: str = "hello",
                 intent: str = "inform", entities: list[dict[str, Any]] | None = None,
                 slots: dict[str, Any] | None = None, active_loop: str | None = None,
                 set_now: dict[str, Any] | None = None, sender_id: str = "sender",
                 extra_metadata: dict[str, Any] | None = None,
                 said_before: Sequence[str] = ()) -> Tracker:
    """A tracker whose latest user message carries `identity` in its metadata (as a channel
    would attach it); `set_now` are slots filled by that message (what a form validates);
    `said_before`, the member's earlier messages."""
    metadata = {"identity": identity} if identity else {}
    metadata.update(extra_metadata or {})
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.99},
              "entities": entities or [], "metadata": metadata}
    all_slots = {"requested_slot": None, "validation_failures": 0, **(slots or {}),
                 **(set_now or {})}
    events = [*({"event": "user", "text": earlier, "metadata": metadata}
                for earlier in said_before),
              {"event": "action", "name": "action_listen"},
              {"event": "user", "text": text, "parse_data": latest, "metadata": metadata},
              *({"event": "slot", "name": k, "value": v} for k, v in (set_now or {}).items())]
    return Tracker(sender_id, all_slots, latest, events, False, None,
                   {"name": active_loop} if active_loop else {}, "action_listen")


async def run(action: Any, tracker: Tracker) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    """Run an action as the action server would: what it said, and its events."""
    dispatcher = CollectingDispatcher()
    return dispatcher, await action.run(dispatcher, tracker, DOMAIN)


def texts(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def payloads(dispatcher: CollectingDispatcher) -> list[str]:
    """The payloads of the buttons said, in order."""
    return [b["payload"] for m in dispatcher.messages for b in m.get("buttons") or []]


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.fixture(autouse=True)
def fresh_policies(monkeypatch) -> None:
    """Each test reads the policies from its own backend (the action server reads them once)."""
    monkeypatch.setattr(policies, "_cache", {})


@pytest.fixture
def backend_db(tmp_path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'backend.sqlite3'}")
    db.create_all()
    yield db
    db.dispose()


@contextlib.asynccontextmanager
async def running_backend(db: Database, monkeypatch, **settings: Any) -> AsyncIterator[None]:
    """The real backend app on a local port; the actions find it through BACKEND_URL."""
    server = TestServer(create_app(db, Settings(BACKEND_SERVICE_TOKEN=TOKEN, **settings)))
    await server.start_server()
    monkeypatch.setenv("BACKEND_URL", str(server.make_url("")).rstrip("/"))
    monkeypatch.setenv("BACKEND_SERVICE_TOKEN", TOKEN)
    try:
        yield
    finally:
        await close_shared_session()  # the actions' pool belongs to this test's event loop
        await server.close()


@pytest.fixture
async def backend(backend_db, monkeypatch) -> AsyncIterator[Database]:
    async with running_backend(backend_db, monkeypatch):
        yield backend_db
