"""bot/tracker_store.py: each turn's new events reach the event broker (and through it the crisis
alerts) once each, in order, the same events Rasa's own store would stream and the same it stores,
without reading the conversation back. Runs in Rasa's environment (a subprocess), on a SQLite
tracker database of its own, as the Rasa server opens it."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.stack import RASA_PYTHON, REPO

# Three turns of one conversation, the third starting a new session, saved as the Rasa server
# saves them: the tracker retrieved at the start of the turn, its new events appended, saved.
TURNS = """
import asyncio, json
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered)
from rasa.shared.core.trackers import DialogueStateTracker
from bot.tracker_store import EnvironmentSQLTrackerStore

class Recorder(EventBroker):
    def __init__(self):
        self.published = []
    def publish(self, event):
        self.published.append(event)

TURNS = [
    [ActionExecuted("action_session_start", timestamp=1), SessionStarted(timestamp=2),
     ActionExecuted("action_listen", timestamp=3), UserUttered("hi", timestamp=4),
     BotUttered("hello", timestamp=5), ActionExecuted("action_listen", timestamp=6)],
    [UserUttered("a therapist", timestamp=7), SlotSet("issue", "anxiety", timestamp=8),
     ActionExecuted("action_listen", timestamp=9)],
    [ActionExecuted("action_session_start", timestamp=10), SessionStarted(timestamp=11),
     ActionExecuted("action_listen", timestamp=12), UserUttered("back again", timestamp=13)],
]

async def main():
    recorder = Recorder()
    store = EnvironmentSQLTrackerStore(domain=Domain.empty(), event_broker=recorder)
    rasa_would_stream, reads_in_save = [], 0
    retrieve = store.retrieve
    async def counted_retrieve(sender_id):
        nonlocal reads_in_save
        reads_in_save += 1
        return await retrieve(sender_id)
    for events in TURNS:
        tracker = (await store.retrieve("s1")
                   or DialogueStateTracker.from_events("s1", [], Domain.empty().slots))
        for event in events:
            tracker.update(event)
        old = await store.retrieve("s1")
        offset = len(old.events) if old else 0  # what Rasa's own store streams
        rasa_would_stream += [e.as_dict()["event"] + ":" + str(e.timestamp)
                              for e in list(tracker.events)[offset:]]
        store.retrieve = counted_retrieve
        await store.save(tracker)
        store.retrieve = retrieve
    stored = await store.retrieve_full_tracker("s1")
    print(json.dumps({
        "published": [e["event"] + ":" + str(e["timestamp"]) for e in recorder.published],
        "senders": sorted({e["sender_id"] for e in recorder.published}),
        "rasa_would_stream": rasa_would_stream,
        "stored": [e.as_dict()["event"] + ":" + str(e.timestamp) for e in stored.events],
        "reads_in_save": reads_in_save}))

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def turns(tmp_path_factory) -> dict:
    if not RASA_PYTHON.exists():
        pytest.fail("Rasa's environment is missing: run `make setup`")
    database = tmp_path_factory.mktemp("tracker") / "tracker.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(REPO), "RASA_TRACKER_DB": str(database),
           "RASA_TRACKER_DIALECT": "sqlite"}
    done = subprocess.run([str(RASA_PYTHON), "-c", TURNS], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_each_new_event_reaches_the_broker_once_in_order(turns) -> None:
    assert turns["published"] == [f"{kind}:{time}" for kind, time in [
        ("action", 1), ("session_started", 2), ("action", 3), ("user", 4), ("bot", 5),
        ("action", 6), ("user", 7), ("slot", 8), ("action", 9),
        ("action", 10), ("session_started", 11), ("action", 12), ("user", 13)]]
    assert turns["senders"] == ["s1"]


def test_the_broker_gets_what_rasas_own_store_streams_and_what_is_stored(turns) -> None:
    assert turns["published"] == turns["rasa_would_stream"]
    assert turns["published"] == turns["stored"]


def test_saving_does_not_read_the_conversation_back(turns) -> None:
    assert turns["reads_in_save"] == 0
